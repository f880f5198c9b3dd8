"""One restore or rebuild of a tenant at a time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tracker.errors import InvalidState

# An advisory lock in the tenant's own database, held by a dedicated session
# for the length of the work: it ends with the session, so a crashed command
# never leaves the tenant locked.
_LOCK = "calabi:maintenance"


@asynccontextmanager
async def maintenance(pool: asyncpg.Pool) -> AsyncIterator[None]:
    async with pool.acquire() as connection:
        taken = await connection.fetchval(
            "SELECT pg_try_advisory_lock(hashtext($1))", _LOCK
        )
        if not taken:
            msg = "another restore or rebuild of this tenant is running"
            raise InvalidState(msg)
        try:
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", _LOCK)
