-- The catalog lists tenants; each tenant's data lives in its own database.

CREATE TABLE tenants (
    name       text        PRIMARY KEY,
    database   text        NOT NULL UNIQUE,
    state      text        NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL DEFAULT now()
);
