"""Fresh tenants for tests that need a log of their own."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database


def new_tenant_name(purpose: str) -> str:
    return f"{purpose}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def fresh_tenant(cluster_url: str, purpose: str) -> AsyncIterator[asyncpg.Pool]:
    """Create a tenant and yield a pool on its database."""
    name = new_tenant_name(purpose)
    await Catalog(cluster_url).create_tenant(name)
    pool = await asyncpg.create_pool(
        cluster_url, database=tenant_database(name), min_size=1, max_size=20
    )
    try:
        yield pool
    finally:
        await pool.close()
