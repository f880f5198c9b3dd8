"""Server settings, read once at start-up from flags and the environment."""

import msgspec

DEFAULT_TENANT = "default"


class S3Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the tenants' artifact buckets live; no endpoint means AWS S3."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None


class JwtSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Bearer tokens issued by the platform's OpenID Connect provider."""

    issuer: str
    audience: str
    # Found through the issuer's discovery document when not given.
    jwks_url: str | None = None
    # Claims may be dotted paths into nested objects ("realm_access.roles").
    # No tenant claim puts every caller in the default tenant.
    tenant_claim: str | None = "tenant"
    user_claim: str = "sub"
    role_claim: str | None = "roles"
    # The role of a caller whose token names none of viewer, editor, admin.
    default_role: str = "viewer"
    # Asymmetric algorithms only: a shared-secret algorithm would let anyone
    # holding the public key sign tokens.
    algorithms: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
    leeway_seconds: float = 30.0
    # How long fetched keys are trusted, and how often a token signed by an
    # unknown key may make the server fetch the key set again.
    jwks_lifetime_seconds: float = 300.0
    jwks_min_refresh_seconds: float = 10.0


class ProxySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Identity headers set by a reverse proxy that terminates SSO in front.

    The headers are believed only on connections from ``trusted`` networks;
    from anywhere else they are ignored.
    """

    trusted: tuple[str, ...]
    user_header: str = "X-Forwarded-User"
    tenant_header: str | None = "X-Calabi-Tenant"
    role_header: str | None = "X-Calabi-Role"
    default_role: str = "viewer"


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The web UI's sign-in through the issuer (authorization code with PKCE)."""

    client_id: str
    # Signs the session cookie; every server process of a deployment shares it.
    secret: str
    client_secret: str | None = None
    # Where the issuer sends the browser back; by default this server's own
    # <prefix>/auth/callback as the request reached it.
    redirect_url: str | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    lifetime_seconds: int = 8 * 3600
    # False only for plain-HTTP development servers.
    secure_cookie: bool = True


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How callers sign in.  Script tokens are always accepted."""

    jwt: JwtSettings | None = None
    proxy: ProxySettings | None = None
    session: SessionSettings | None = None


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the server needs to know to start."""

    # A connection URL to the PostgreSQL cluster; its database part is the
    # one used for administration (CREATE DATABASE).  Tenant databases and
    # the catalog live in the same cluster.
    database_url: str
    host: str = "127.0.0.1"
    port: int = 5000
    # The URL prefix, mirroring the product's https://calabi.<domain>/mlflow.
    prefix: str = "/mlflow"
    default_tenant: str = DEFAULT_TENANT
    run_projectors: bool = True
    # How long a read waits for the projector to include the latest write.
    read_barrier_timeout: float = 10.0
    pool_max_size: int = 10
    # None serves no artifacts (artifact routes answer NOT_IMPLEMENTED).
    s3: S3Settings | None = None
    # Answer artifact downloads with a redirect to a presigned S3 URL.
    artifact_redirects: bool = False
    presigned_url_expiry: int = 300
    # None: no identity provider, every request acts as the local user in
    # the default tenant (the embedded development mode).
    auth: AuthSettings | None = None
    # An idle keep-alive connection, or one that never finishes its request
    # headers, is closed after this long.  Longer than the idle timeout of
    # the usual load balancers, so they close first and no request races a
    # close.
    keepalive_timeout: float = 75.0
    # A JSON request body must arrive whole within this time.
    body_read_timeout: float = 60.0
    # The largest JSON request body; artifact uploads stream and are not held
    # to it.  The largest MLflow message, a dataset with its 16 MiB profile,
    # fits several times over.
    max_body_bytes: int = 64 * 1024 * 1024
