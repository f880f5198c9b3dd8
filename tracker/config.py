"""Server settings, read once at start-up from flags and the environment."""

import msgspec

DEFAULT_TENANT = "default"


class S3Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Where the tenants' artifact buckets live; no endpoint means AWS S3."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key: str | None = None
    secret_key: str | None = None


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
