-- Script and CI tokens.  A token reads calabi_<token_id>_<secret>; only the
-- SHA-256 of its secret is kept, so the table cannot be used to sign in.
-- Revoking sets revoked_at; the server checks it on every request.

CREATE TABLE tokens (
    token_id    text        PRIMARY KEY,
    secret_hash bytea       NOT NULL,
    tenant      text        NOT NULL REFERENCES tenants (name),
    user_name   text        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    description text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);

CREATE INDEX tokens_by_tenant ON tokens (tenant, created_at);
