"""Server settings, read once at start-up from flags and the environment."""

import msgspec

DEFAULT_TENANT = "default"


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
