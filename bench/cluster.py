"""The one PostgreSQL cluster every server of a run stores its data in."""

import asyncio
from pathlib import Path

import asyncpg

from tracker.embedded.postgres import ConnectParams, EmbeddedPostgres


class Cluster:
    """A throwaway cluster in a scratch folder, on TCP at a free port.

    It keeps fsync and synchronous commit on, as a deployment would: turning
    durability off would flatter every server's writes alike and hide the
    cost of a commit, which is what the ingest figures are about.

    Args:
        scratch: The bench run's folder; the cluster lives in ``scratch/pg``.
    """

    def __init__(self, scratch: Path) -> None:
        self.server = EmbeddedPostgres(scratch / "pg")
        self.params: ConnectParams | None = None

    def start(self) -> ConnectParams:
        self.params = self.server.start(listen_tcp=True, durable=True)
        return self.params

    def stop(self) -> None:
        self.server.stop()

    @property
    def postmaster_pid(self) -> int:
        """The server's root process, for the sampler."""
        lines = (self.server.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[0])

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL of ``database`` on this cluster."""
        assert self.params is not None, "the cluster is not started"
        return self.params.dsn(database)

    def create_database(self, name: str) -> None:
        """Create an empty database ``name``; the name must be a plain identifier."""
        asyncio.run(self._create_database(name))

    def version(self) -> str:
        return asyncio.run(self._fetch_version())

    def settle(self, database: str) -> None:
        """Vacuum and analyze ``database``, then checkpoint the cluster.

        Run before a server's timed reads, so that none of them shares its
        window with autovacuum catching up on the writes before it, and each
        server's planner has the statistics a settled database would have.
        """
        asyncio.run(self._settle(database))

    async def _settle(self, database: str) -> None:
        connection = await asyncpg.connect(self.url(database))
        try:
            await connection.execute("VACUUM (ANALYZE)")
            await connection.execute("CHECKPOINT")
        finally:
            await connection.close()

    async def _create_database(self, name: str) -> None:
        connection = await asyncpg.connect(self.url())
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def _fetch_version(self) -> str:
        connection = await asyncpg.connect(self.url())
        try:
            version: str = await connection.fetchval("SHOW server_version")
        finally:
            await connection.close()

        return version
