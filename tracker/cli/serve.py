"""``calabi serve``."""

import asyncio
from typing import Any

import click
import structlog
from aiohttp import web

from tracker.cli.options import backends, resolve_backends
from tracker.cli.sign_in_options import auth_settings, sign_in_options
from tracker.config import DEFAULT_TENANT, Settings
from tracker.http.app import create_app
from tracker.tenancy.catalog import Catalog

log = structlog.get_logger("calabi.serve")


@click.command()
@backends
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
@click.option(
    "--artifact-redirects",
    is_flag=True,
    help="Answer artifact downloads with a redirect to a presigned S3 URL.",
)
@sign_in_options
def serve(
    host: str,
    port: int,
    prefix: str,
    default_tenant: str,
    projectors: bool,
    artifact_redirects: bool,
    **options: Any,
) -> None:
    """Serve the MLflow tracking API."""
    auth = auth_settings(options)
    embedded = bool(options["embedded"])
    url, s3 = resolve_backends(**options)
    if prefix and not prefix.startswith("/"):
        raise click.BadParameter(
            "the prefix must start with '/'", param_hint="--prefix"
        )

    if embedded:
        # The embedded default provisions its tenant itself: two commands
        # from a fresh clone to a working server.
        created = asyncio.run(Catalog(url, s3).create_tenant(default_tenant))
        log.warning("embedded_mode", tenant=default_tenant, tenant_created=created)
    if auth is None:
        log.warning(
            "no_sign_in",
            identity="no identity provider: every request acts as the local user, "
            "an admin of the default tenant",
            remedy="give --oidc-issuer, --trusted-proxy or --require-sign-in",
        )

    settings = Settings(
        database_url=url,
        host=host,
        port=port,
        prefix=prefix.rstrip("/"),
        default_tenant=default_tenant,
        run_projectors=projectors,
        s3=s3,
        artifact_redirects=artifact_redirects,
        auth=auth,
    )
    log.info("serving", url=f"http://{host}:{port}{settings.prefix}")
    # No access log: the middleware writes one line per request, without
    # the headers and query strings that can carry credentials.
    web.run_app(create_app(settings), host=host, port=port, print=None, access_log=None)
