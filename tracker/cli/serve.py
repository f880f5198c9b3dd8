"""``calabi serve``."""

import asyncio

import click
import structlog
from aiohttp import web

from tracker.cli.options import database_url, embedded, resolve_database_url
from tracker.config import DEFAULT_TENANT, Settings
from tracker.http.app import create_app
from tracker.tenancy.catalog import Catalog

log = structlog.get_logger("calabi.serve")


@click.command()
@database_url
@embedded
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--prefix", default="/mlflow", show_default=True, help="URL prefix.")
@click.option("--tenant", "default_tenant", default=DEFAULT_TENANT, show_default=True)
@click.option(
    "--projectors/--no-projectors",
    default=True,
    show_default=True,
    help="Run the projectors in this process (else run `calabi project`).",
)
def serve(
    database_url: str | None,
    embedded: bool,
    host: str,
    port: int,
    prefix: str,
    default_tenant: str,
    projectors: bool,
) -> None:
    """Serve the MLflow tracking API."""
    url = resolve_database_url(database_url, embedded)
    if prefix and not prefix.startswith("/"):
        raise click.BadParameter(
            "the prefix must start with '/'", param_hint="--prefix"
        )

    if embedded:
        # The embedded default provisions its tenant itself: two commands
        # from a fresh clone to a working server.
        created = asyncio.run(Catalog(url).create_tenant(default_tenant))
        log.info("embedded_mode", tenant=default_tenant, tenant_created=created)

    settings = Settings(
        database_url=url,
        host=host,
        port=port,
        prefix=prefix.rstrip("/"),
        default_tenant=default_tenant,
        run_projectors=projectors,
    )
    log.info("serving", url=f"http://{host}:{port}{settings.prefix}")
    web.run_app(create_app(settings), host=host, port=port, print=None, access_log=None)
