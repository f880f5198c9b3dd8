"""Apply the SQL migrations of schemas/ to a database, each exactly once."""

import structlog

from schemas import sql_files
from tracker.db import Connection

log = structlog.get_logger("calabi.migrations")


async def migrate(connection: Connection, folder: str) -> list[str]:
    """Apply the not-yet-applied files of ``schemas/<folder>``; return their names."""
    applied: list[str] = []

    async with connection.transaction():
        # Two processes migrating the same database wait for each other.
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext('migrate'))")
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            row["name"]
            for row in await connection.fetch(
                "SELECT name FROM public.schema_migrations"
            )
        }

        for migration in sql_files(folder):
            if migration.name in done:
                continue
            await connection.execute(migration.read_text())
            await connection.execute(
                "INSERT INTO public.schema_migrations (name) VALUES ($1)",
                migration.name,
            )
            applied.append(migration.name)

    if applied:
        log.info("migrated", folder=folder, applied=applied)

    return applied
