"""A tenant of its own with a server in front, for restore tests."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import asyncpg
from mlflow.tracking import MlflowClient

from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.admin.restore import restore
from tracker.config import S3Settings, Settings
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import tenant_projectors


@dataclass
class Tenant:
    uri: str
    client: MlflowClient
    cluster_url: str
    name: str

    def head(self) -> int:
        return asyncio.run(self._fetch("SELECT last_position FROM es.head"))

    def count_events(self) -> int:
        return asyncio.run(self._fetch("SELECT count(*) FROM es.events"))

    def restore_to(self, target: int, reason: str = "spec") -> int:
        async def run() -> int:
            pool = await self._pool()
            try:
                done = await restore(
                    pool, tenant_projectors(pool), target, reason=reason
                )
            finally:
                await pool.close()
            return done.marker

        return asyncio.run(run())

    async def _pool(self) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.cluster_url,
            database=tenant_database(self.name),
            min_size=1,
            max_size=4,
        )

    async def _fetch(self, query: str) -> int:
        connection = await asyncpg.connect(
            self.cluster_url, database=tenant_database(self.name)
        )
        try:
            value: int = await connection.fetchval(query)
            return value
        finally:
            await connection.close()


@contextmanager
def tenant_server(cluster_url: str, s3: S3Settings) -> Iterator[Tenant]:
    name = new_tenant_name("restore")
    asyncio.run(Catalog(cluster_url, s3).create_tenant(name))
    settings = Settings(
        database_url=cluster_url, port=free_port(), default_tenant=name, s3=s3
    )
    with running_server(settings) as uri:
        yield Tenant(uri, MlflowClient(uri), cluster_url, name)
