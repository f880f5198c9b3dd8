"""Database types shared by commands, projectors and queries."""

from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A pool lends a proxy, a direct connect gives a Connection; both answer the
# same queries.
Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
)
