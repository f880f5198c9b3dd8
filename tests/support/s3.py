"""A throwaway S3-compatible server for one test process."""

from pathlib import Path

from tracker.config import S3Settings
from tracker.embedded.seaweed import EmbeddedS3, S3Endpoint


def start_test_s3(tmp_dir: Path) -> tuple[EmbeddedS3, S3Endpoint]:
    """Start a SeaweedFS that keeps its data in ``tmp_dir`` on free ports.

    It checks signatures like AWS S3, so tests of presigned URLs mean what
    they say. The caller stops it with ``server.stop()``.

    Args:
        tmp_dir: A private folder for the server's data.

    Returns:
        The server, and its endpoint with the credentials it accepts.
    """
    server = EmbeddedS3(tmp_dir / "s3")
    endpoint = server.start()

    return server, endpoint


def settings_for(endpoint: S3Endpoint) -> S3Settings:
    """Client settings that reach ``endpoint`` with its credentials."""
    return S3Settings(
        endpoint_url=endpoint.endpoint_url,
        region=endpoint.region,
        access_key=endpoint.access_key,
        secret_key=endpoint.secret_key,
    )
