"""What the admin commands share: a tenant's pool, an actor, progress output."""

import getpass
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import click

from tracker.context import RequestContext, current_request
from tracker.tenancy.names import tenant_database


@asynccontextmanager
async def tenant_pool(url: str, tenant: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the tenant's database, with the command's user as the actor."""
    pool = await asyncpg.create_pool(
        url, database=tenant_database(tenant), min_size=1, max_size=4
    )
    token = current_request.set(
        RequestContext(
            tenant=tenant,
            actor=f"cli:{getpass.getuser()}",
            request_id=uuid.uuid4().hex,
            user_agent="calabi-cli",
        )
    )
    try:
        yield pool
    finally:
        current_request.reset(token)
        await pool.close()


def show_progress(events: int, position: int, rate: float) -> None:
    """Progress of long work on the terminal: events folded and their speed."""
    if sys.stderr.isatty():
        click.echo(
            f"\r  {events:,} events folded, at position {position:,}"
            f" ({rate:,.0f} events/s)   ",
            err=True,
            nl=False,
        )
