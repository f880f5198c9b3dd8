"""Options shared by several commands."""

from pathlib import Path

import click

from tracker.embedded.postgres import EmbeddedPostgres

EMBEDDED_DATA = Path(".data/postgres")
EMBEDDED_PORT = 54330

database_url = click.option(
    "--database-url",
    envvar="CALABI_DATABASE_URL",
    help="PostgreSQL cluster URL (its database is used for administration).",
)
embedded = click.option(
    "--embedded",
    is_flag=True,
    help="Use (and start if needed) the project-local PostgreSQL under .data/.",
)


def resolve_database_url(url: str | None, use_embedded: bool) -> str:
    """The cluster URL to use, starting the embedded server if asked to."""
    if use_embedded:
        params = EmbeddedPostgres(EMBEDDED_DATA).start(port=EMBEDDED_PORT)
        return params.dsn()
    if not url:
        raise click.UsageError(
            "give --database-url (or CALABI_DATABASE_URL) or --embedded"
        )
    return url
