"""``calabi serve``."""

import asyncio
import gc
import multiprocessing
import signal
import sys
from typing import Any

import click
import structlog
from aiohttp import web

from tracker.cli.options import backends, resolve_backends
from tracker.cli.sign_in_options import auth_settings, sign_in_options
from tracker.config import DEFAULT_TENANT, Settings
from tracker.http.app import create_app
from tracker.logging import configure_logging
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
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port; their projectors share the work.",
)
@sign_in_options
def serve(
    host: str,
    port: int,
    prefix: str,
    default_tenant: str,
    projectors: bool,
    artifact_redirects: bool,
    workers: int,
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
    log.info("serving", url=f"http://{host}:{port}{settings.prefix}", workers=workers)
    if workers == 1:
        run_server(settings, reuse_port=False)
        return

    # Each worker is a whole server: its own pools and projectors.  The
    # kernel spreads connections over the processes bound to the port, and
    # the projectors' checkpoint locks let one process at a time fold a
    # tenant's log while the others follow its checkpoint.
    log_level = click.get_current_context().find_root().params["log_level"]
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(settings, log_level))
        for _ in range(workers)
    ]
    # SIGTERM must reach the workers too: end this process through the
    # finally clause below instead of dying around it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=30)


def run_server(settings: Settings, *, reuse_port: bool) -> None:
    app = create_app(settings)
    # What is alive now (modules, the app) lives as long as the process.
    # Frozen, it is no longer traversed by every full collection, which
    # otherwise paused the event loop for 30-45 ms at a time under ingest.
    gc.collect()
    gc.freeze()

    # No access log: the middleware writes one line per request, without
    # the headers and query strings that can carry credentials.
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        print=None,
        access_log=None,
    )


def _worker(settings: Settings, log_level: str) -> None:
    configure_logging(log_level)
    run_server(settings, reuse_port=True)
