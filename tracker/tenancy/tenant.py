"""A tenant as the server holds it: a pool, a writer, a projector.

This is the one place requests reach a tenant's database.  ``TenantRouter``
opens tenants lazily; until authentication exists every request is routed
to the configured default tenant.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg
import structlog

from projections.projector import Projector
from projections.tracking.fold import fold
from schemas import files_in
from tracker.config import Settings
from tracker.db import Connection
from tracker.errors import NotFound, ProjectionStopped
from tracker.eventlog.append import EventWriter
from tracker.storage.s3 import ObjectStore, S3Client
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.migrations import migrate
from tracker.tenancy.names import tenant_bucket, tenant_database

log = structlog.get_logger("calabi.tenancy")

TRACKING_PROJECTOR = "tracking"


def tracking_projector(pool: asyncpg.Pool, batch_size: int = 2000) -> Projector:
    return Projector(
        pool,
        name=TRACKING_PROJECTOR,
        fold=fold,
        definition=files_in("read_models") / "tracking.sql",
        batch_size=batch_size,
    )


class Tenant:
    """One tenant's database, open for reads and writes."""

    def __init__(
        self,
        name: str,
        pool: asyncpg.Pool,
        projector: Projector,
        *,
        local: bool,
        artifacts: ObjectStore | None = None,
    ) -> None:
        self.name = name
        self.pool = pool
        self.projector = projector
        self.artifacts = artifacts
        self.writer = EventWriter(pool, on_commit=self._committed)
        self.projector_local = local
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.projector.prepare()
        if self.projector_local:
            self._task = asyncio.create_task(
                self.projector.run(), name=f"projector:{self.name}"
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.pool.close()

    @asynccontextmanager
    async def reading(self, timeout: float) -> AsyncIterator[Connection]:
        """A connection whose reads include every write committed before now.

        MLflow clients send no consistency token, so each read first takes the
        log's head and waits for the projector to reach it: a GET after any
        acknowledged write, from any client or process, sees that write.
        """
        async with self.pool.acquire() as connection:
            positions = await connection.fetchrow(
                "SELECT h.last_position AS head, c.position AS projected"
                " FROM es.head h LEFT JOIN es.checkpoints c ON c.projector = $1",
                self.projector.name,
            )
            assert positions is not None, "es.head always holds its one row"
            head, projected = positions["head"], positions["projected"]
            if projected is None or projected < head:
                await self._wait_for(connection, head, timeout)
            yield connection

    async def _wait_for(
        self, connection: Connection, position: int, timeout: float
    ) -> None:
        if self.projector_local:
            await self.projector.wait_for(position, timeout)
            return

        # The projector runs in another process: follow its checkpoint.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            projected = await connection.fetchval(
                "SELECT position FROM es.checkpoints WHERE projector = $1",
                self.projector.name,
            )
            if projected is not None and projected >= position:
                return
            await asyncio.sleep(0.01)
        raise ProjectionStopped(f"read models are behind the log (at {position})")

    def _committed(self, position: int) -> None:
        if self.projector_local:
            self.projector.wake()


class TenantRouter:
    """Opens tenants on first use and keeps them open."""

    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self._settings = settings
        self._catalog = catalog
        # Set by the application once its one S3 client is open.
        self.s3_client: S3Client | None = None
        self._tenants: dict[str, Tenant] = {}
        self._opening = asyncio.Lock()

    async def tenant(self, name: str) -> Tenant:
        tenant = self._tenants.get(name)
        if tenant is not None:
            return tenant

        async with self._opening:
            if name not in self._tenants:
                self._tenants[name] = await self._open(name)

        return self._tenants[name]

    async def close(self) -> None:
        for tenant in self._tenants.values():
            await tenant.close()
        self._tenants.clear()

    async def _open(self, name: str) -> Tenant:
        if await self._catalog.tenant_state(name) != "active":
            raise NotFound(f"Tenant '{name}' does not exist")

        pool = await asyncpg.create_pool(
            self._settings.database_url,
            database=tenant_database(name),
            min_size=1,
            max_size=self._settings.pool_max_size,
        )
        # A tenant created by an older release gets the newer migrations now.
        async with pool.acquire() as connection:
            await migrate(connection, "tenant")
        artifacts = None
        if self.s3_client is not None:
            artifacts = ObjectStore(self.s3_client, tenant_bucket(name))
            await artifacts.ensure_bucket()
        tenant = Tenant(
            name,
            pool,
            tracking_projector(pool),
            local=self._settings.run_projectors,
            artifacts=artifacts,
        )
        await tenant.start()
        log.info("tenant_opened", tenant=name, projector_local=tenant.projector_local)

        return tenant
