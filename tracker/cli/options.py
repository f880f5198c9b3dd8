"""Options shared by several commands, and the embedded backends they start."""

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tracker.config import S3Settings
from tracker.embedded.postgres import EmbeddedPostgres
from tracker.embedded.seaweed import EmbeddedS3

EMBEDDED_POSTGRES = Path(".data/postgres")
EMBEDDED_S3 = Path(".data/s3")
EMBEDDED_PORT = 54330

F = TypeVar("F", bound=Callable[..., Any])


def backends(command: F) -> F:
    """Add the options that say where PostgreSQL and S3 are."""
    options = (
        click.option(
            "--database-url",
            envvar="CALABI_DATABASE_URL",
            help="PostgreSQL cluster URL (its database is used for administration).",
        ),
        click.option(
            "--s3-endpoint",
            envvar="CALABI_S3_ENDPOINT",
            help="S3-compatible endpoint URL; leave out for AWS S3.",
        ),
        click.option("--s3-region", envvar="CALABI_S3_REGION", default="us-east-1"),
        click.option("--s3-access-key", envvar="CALABI_S3_ACCESS_KEY"),
        click.option("--s3-secret-key", envvar="CALABI_S3_SECRET_KEY"),
        click.option(
            "--no-artifacts",
            is_flag=True,
            help="Serve no artifacts (no S3 at all).",
        ),
        click.option(
            "--embedded",
            is_flag=True,
            help="Use, and start if needed, the project-local PostgreSQL and S3 "
            "under .data/.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def _embedded_port() -> int | None:
    """The usual port when it is free; else any (another checkout may run)."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", EMBEDDED_PORT))
        except OSError:
            return None
    return EMBEDDED_PORT


def resolve_backends(
    *,
    database_url: str | None,
    s3_endpoint: str | None,
    s3_region: str,
    s3_access_key: str | None,
    s3_secret_key: str | None,
    no_artifacts: bool,
    embedded: bool,
) -> tuple[str, S3Settings | None]:
    """The cluster URL and S3 settings to use, starting embedded servers if asked."""
    if embedded:
        postgres = EmbeddedPostgres(EMBEDDED_POSTGRES).start(port=_embedded_port())
        if no_artifacts:
            return postgres.dsn(), None
        s3 = EmbeddedS3(EMBEDDED_S3).start()
        return postgres.dsn(), S3Settings(
            endpoint_url=s3.endpoint_url,
            region=s3.region,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
        )

    if not database_url:
        msg = "give --database-url (or CALABI_DATABASE_URL), or --embedded"
        raise click.UsageError(msg)
    if no_artifacts:
        return database_url, None
    return database_url, S3Settings(
        endpoint_url=s3_endpoint,
        region=s3_region,
        access_key=s3_access_key,
        secret_key=s3_secret_key,
    )
