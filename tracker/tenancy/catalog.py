"""The catalog database: which tenants exist, and their provisioning.

Creating a tenant creates its database, migrates it from schemas/tenant and
appends the Default experiment (id 0) as the tenant's first events.  Each
step is safe to repeat, so a provisioning cut short is finished by running
``calabi tenant create`` again.
"""

from contextlib import suppress

import asyncpg
import structlog

from tracker.commands.experiments import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    create_experiment,
)
from tracker.config import S3Settings
from tracker.eventlog.append import EventWriter
from tracker.storage.s3 import ObjectStore, open_s3
from tracker.tenancy.migrations import migrate
from tracker.tenancy.names import (
    CATALOG_DATABASE,
    check_tenant_name,
    tenant_bucket,
    tenant_database,
)

log = structlog.get_logger("calabi.tenancy")


class Catalog:
    """The tenants of one PostgreSQL cluster."""

    def __init__(self, database_url: str, s3: S3Settings | None = None) -> None:
        self._url = database_url
        self._s3 = s3

    async def connect(self, database: str) -> asyncpg.Connection:
        return await asyncpg.connect(self._url, database=database)

    async def prepare(self) -> None:
        """Create and migrate the catalog database if needed."""
        await self._create_database(CATALOG_DATABASE)
        connection = await self.connect(CATALOG_DATABASE)
        try:
            await migrate(connection, "catalog")
        finally:
            await connection.close()

    async def tenants(self) -> list[asyncpg.Record]:
        connection = await self.connect(CATALOG_DATABASE)
        try:
            return await connection.fetch(
                "SELECT name, database, state, created_at FROM tenants ORDER BY name"
            )
        finally:
            await connection.close()

    async def tenant_state(self, name: str) -> str | None:
        connection = await self.connect(CATALOG_DATABASE)
        try:
            state: str | None = await connection.fetchval(
                "SELECT state FROM tenants WHERE name = $1", name
            )
            return state
        finally:
            await connection.close()

    async def create_tenant(self, name: str) -> bool:
        """Provision a tenant; return False if it was already complete."""
        check_tenant_name(name)
        database = tenant_database(name)
        await self.prepare()

        catalog = await self.connect(CATALOG_DATABASE)
        try:
            state = await catalog.fetchval(
                "INSERT INTO tenants (name, database, state)"
                " VALUES ($1, $2, 'provisioning')"
                " ON CONFLICT (name) DO UPDATE SET name = excluded.name"
                " RETURNING state",
                name,
                database,
            )
            if state == "active":
                return False

            await self._create_database(database)
            await self._provision(database)
            await self._create_bucket(name)
            await catalog.execute(
                "UPDATE tenants SET state = 'active' WHERE name = $1", name
            )
        finally:
            await catalog.close()

        log.info("tenant_created", tenant=name, database=database)

        return True

    async def _provision(self, database: str) -> None:
        tenant = await asyncpg.create_pool(
            self._url, database=database, min_size=1, max_size=2
        )
        try:
            async with tenant.acquire() as connection:
                await migrate(connection, "tenant")
                has_default = await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM decision.experiments"
                    " WHERE experiment_id = $1)",
                    DEFAULT_EXPERIMENT_ID,
                )
            if not has_default:
                async with EventWriter(tenant).transaction() as tx:
                    await create_experiment(
                        tx,
                        DEFAULT_EXPERIMENT_NAME,
                        experiment_id=DEFAULT_EXPERIMENT_ID,
                    )
        finally:
            await tenant.close()

    async def _create_bucket(self, name: str) -> None:
        if self._s3 is None:
            return
        async with open_s3(self._s3) as client:
            versioned = await ObjectStore(client, tenant_bucket(name)).ensure_bucket()
        if not versioned:
            log.warning(
                "bucket_unversioned",
                tenant=name,
                consequence="a restore cannot bring back overwritten artifacts",
            )

    async def _create_database(self, database: str) -> None:
        admin = await asyncpg.connect(self._url)
        try:
            exists = await admin.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", database
            )
            if not exists:
                # Identifiers cannot be bound; the name was validated and is
                # quoted here as well.
                quoted = '"' + database.replace('"', '""') + '"'
                with suppress(asyncpg.DuplicateDatabaseError):
                    await admin.execute(f"CREATE DATABASE {quoted} ENCODING 'UTF8'")
        finally:
            await admin.close()
