"""Rebuild a tenant's read models from the log, compare, and switch them in."""

from collections.abc import Sequence

import asyncpg
import msgspec

from projections.generations import (
    Built,
    Progress,
    TableDrift,
    build_generation,
    compare_generations,
    drop_generation,
    switch_generation,
)
from projections.projector import Projector
from tracker.admin.exclusive import maintenance


class RebuildReport(msgspec.Struct, frozen=True):
    head: int
    built: list[Built]
    drift: list[TableDrift]
    switched: bool


async def rebuild(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    *,
    switch: bool,
    progress: Progress | None = None,
) -> RebuildReport:
    """Build every projector's read models at the head beside the live ones.

    The comparison is exact when no write arrives during the build: the live
    read models are caught up to the same head first.  With ``switch`` the
    rebuilt generation replaces the live one, and the live projector then
    folds whatever arrived during the build on top of it.
    """
    async with maintenance(pool):
        head: int = await pool.fetchval("SELECT last_position FROM es.head")
        for projector in projectors:
            await projector.prepare()
            await projector.catch_up()

        built = [
            await build_generation(
                pool, projector, f"{projector.schema}_rebuild", head, progress=progress
            )
            for projector in projectors
        ]

        drift: list[TableDrift] = []
        async with pool.acquire() as connection:
            for projector, generation in zip(projectors, built, strict=True):
                drift += await compare_generations(
                    connection, projector.schema, generation.schema
                )
            if switch:
                async with connection.transaction():
                    for projector, generation in zip(projectors, built, strict=True):
                        await switch_generation(connection, projector, generation)
            else:
                for generation in built:
                    await drop_generation(connection, generation.schema)

    return RebuildReport(head=head, built=built, drift=drift, switched=switch)
