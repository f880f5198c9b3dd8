"""``calabi project``: run a tenant's projectors in their own process."""

import asyncio
from typing import Any

import asyncpg
import click
import structlog

from tracker.cli.options import backends, resolve_backends
from tracker.config import DEFAULT_TENANT
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import tenant_projectors

log = structlog.get_logger("calabi.project")


@click.command()
@backends
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--once", is_flag=True, help="Catch up with the log, then exit.")
@click.option(
    "--rebuild", is_flag=True, help="Drop the read models and replay the whole log."
)
@click.option("--batch-size", default=2000, show_default=True, type=int)
def project(
    tenant: str, once: bool, rebuild: bool, batch_size: int, **options: Any
) -> None:
    """Fold a tenant's event log into its read models."""
    url, _ = resolve_backends(**{**options, "no_artifacts": True})
    asyncio.run(
        _project(url, tenant, once=once, rebuild=rebuild, batch_size=batch_size)
    )


async def _project(
    url: str, tenant: str, *, once: bool, rebuild: bool, batch_size: int
) -> None:
    pool = await asyncpg.create_pool(
        url, database=tenant_database(tenant), min_size=1, max_size=4
    )
    try:
        projectors = tenant_projectors(pool, batch_size=batch_size)
        for projector in projectors:
            await (projector.rebuild() if rebuild else projector.prepare())
        if once:
            for projector in projectors:
                applied = await projector.catch_up()
                log.info(
                    "caught_up",
                    tenant=tenant,
                    projector=projector.name,
                    events=applied,
                    at=projector.position,
                )
        else:
            await asyncio.gather(*(projector.run() for projector in projectors))
    finally:
        await pool.close()
