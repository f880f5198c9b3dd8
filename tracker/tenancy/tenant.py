"""A tenant as the server holds it: a pool, a writer, its projectors.

This is the one place requests reach a tenant's database.  ``TenantRouter``
opens tenants lazily; until authentication exists every request is routed
to the configured default tenant.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

import asyncpg
import structlog

from projections.projector import Projector
from tracker.config import Settings
from tracker.context import current_request
from tracker.db import Connection
from tracker.errors import NotFound, ProjectionStopped, TrackerError
from tracker.eventlog.append import EventWriter
from tracker.storage.s3 import ObjectStore, S3Client
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.migrations import migrate
from tracker.tenancy.names import tenant_bucket, tenant_database
from tracker.tenancy.projectors import tenant_projectors
from tracker.tenancy.read_scopes import (
    WHOLE_LOG,
    OwnWrites,
    ReadScope,
    positions,
    projectors_for,
)

log = structlog.get_logger("calabi.tenancy")

# A presigned multipart upload still open after a day was abandoned.
ABANDONED_UPLOAD_SECONDS = 24 * 3600
SWEEP_INTERVAL_SECONDS = 3600

# asyncpg prepares every statement, and after five runs PostgreSQL may swap
# its plan for a generic one that ignores the bound values.  For a search,
# whose filters differ by orders of magnitude in selectivity, that plan is
# often a scan of the whole experiment (3x slower at 30,000 runs).  Planning
# each execution costs well under a millisecond.
#
# The read models are small next to memory and are read from cache, where a
# random page costs about what a sequential one does; at the default cost of
# 4 the planner scanned every tag of the tenant rather than look up those of
# 300 candidate runs (6 ms instead of 2 at 30,000 runs).
_SERVING_SETTINGS = {"plan_cache_mode": "force_custom_plan", "random_page_cost": "1.1"}


async def keep_session(connection: asyncpg.Connection) -> None:
    """Hand a released connection back to its pool as it is.

    asyncpg's default reset costs a round trip per release, to undo session
    state these pools never hold: every setting they make is local to its
    transaction (``set_config(..., true)``), and they take no session
    advisory lock, open no cursor outside a transaction and listen to
    nothing.  An open transaction is still rolled back, by asyncpg itself.
    """


class Tenant:
    """One tenant's database, open for reads and writes."""

    def __init__(
        self,
        name: str,
        pool: asyncpg.Pool,
        projectors: list[Projector],
        *,
        local: bool,
        artifacts: ObjectStore | None = None,
        projector_pool: asyncpg.Pool | None = None,
    ) -> None:
        self.name = name
        self.pool = pool
        self._projector_pool = projector_pool
        self.projectors = projectors
        self.artifacts = artifacts
        self.writer = EventWriter(pool, on_commit=self._committed)
        self.projector_local = local
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for projector in self.projectors:
            await projector.prepare()
            if self.projector_local:
                self._tasks.append(
                    asyncio.create_task(
                        projector.run(), name=f"projector:{self.name}:{projector.name}"
                    )
                )
        if self.artifacts is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._sweep_abandoned_uploads(), name=f"sweeper:{self.name}"
                )
            )

    async def _sweep_abandoned_uploads(self) -> None:
        """Abort multipart uploads a client started and never finished.

        Their parts would otherwise stay in the bucket, unlisted, for ever.
        """
        assert self.artifacts is not None, "started only with an artifact store"
        while True:
            try:
                aborted = await self.artifacts.abort_stale_multiparts(
                    ABANDONED_UPLOAD_SECONDS
                )
                if aborted:
                    log.info(
                        "abandoned_uploads_aborted", tenant=self.name, count=aborted
                    )
            except TrackerError as error:
                log.warning(
                    "upload_sweep_failed", tenant=self.name, error=error.message
                )
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await task
        if self._projector_pool is not None:
            await self._projector_pool.close()
        await self.pool.close()

    @asynccontextmanager
    async def reading(
        self, timeout: float, scope: ReadScope = WHOLE_LOG
    ) -> AsyncIterator[Connection]:
        """A connection whose reads include every write the scope depends on.

        The read first learns what it must wait for, and waits until the
        projectors reach it (``tracker.tenancy.read_scopes``): a GET after an
        acknowledged write, from any client or process, sees that write.
        """
        names = projectors_for(scope, [p.name for p in self.projectors])
        # The connection is given back while waiting: the readers of a busy
        # moment must not hold the connections the projectors need.
        async with self.pool.acquire() as connection:
            target, projected = await positions(connection, scope, names)
        if projected < target:
            began = time.perf_counter()
            try:
                await self._wait_for(target, names, timeout)
            finally:
                _note_barrier_wait(time.perf_counter() - began)

        async with self.pool.acquire() as connection:
            yield connection

    async def _wait_for(
        self, position: int, names: Sequence[str], timeout: float
    ) -> None:
        if self.projector_local:
            for projector in self.projectors:
                if projector.name in names:
                    await projector.wait_for(position, timeout)
            return

        # The projectors run in another process: follow their checkpoints.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        scope = OwnWrites(position)
        while loop.time() < deadline:
            async with self.pool.acquire() as connection:
                _, projected = await positions(connection, scope, names)
            if projected >= position:
                return
            await asyncio.sleep(0.01)
        raise ProjectionStopped(f"read models are behind the log (at {position})")

    def _committed(self, position: int) -> None:
        if self.projector_local:
            for projector in self.projectors:
                projector.wake()


def _note_barrier_wait(seconds: float) -> None:
    context = current_request.get()
    if context is not None:
        context.barrier_wait += seconds


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
            server_settings=_SERVING_SETTINGS,
            reset=keep_session,
        )
        # A tenant created by an older release gets the newer migrations now.
        async with pool.acquire() as connection:
            await migrate(connection, "tenant")
        artifacts = None
        if self.s3_client is not None:
            artifacts = ObjectStore(self.s3_client, tenant_bucket(name))
            await artifacts.ensure_bucket()
        # The projectors draw from a pool of their own, which requests can
        # never exhaust.
        projector_pool = await asyncpg.create_pool(
            self._settings.database_url,
            database=tenant_database(name),
            min_size=1,
            max_size=2,
            reset=keep_session,
        )
        tenant = Tenant(
            name,
            pool,
            tenant_projectors(projector_pool),
            local=self._settings.run_projectors,
            artifacts=artifacts,
            projector_pool=projector_pool,
        )
        await tenant.start()
        log.info("tenant_opened", tenant=name, projector_local=tenant.projector_local)

        return tenant
