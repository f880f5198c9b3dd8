"""The errors of the embedded servers, apart so that every module can raise them."""

__all__ = ["PostgresSetupError", "S3SetupError"]


class PostgresSetupError(RuntimeError):
    """The embedded PostgreSQL server could not be found, set up or started."""


class S3SetupError(RuntimeError):
    """The embedded S3 server could not be found, started or stopped."""
