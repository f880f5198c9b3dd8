"""Read-model generations: build one from the log apart, compare, switch it in.

A generation is a schema holding one projector's read models as of some
position.  It is built beside the live one (readers keep reading the live
schema), from the effective history only, and can then be compared with the
live schema or switched in.  The switch is one short transaction that drops
the live schema and renames the new one into its place; readers wait for it
for a moment instead of ever seeing a half-built state.
"""

import time
from collections.abc import Callable

import asyncpg
import msgspec

from projections.checksums import TableChecksum, read_model_checksums
from projections.effective_history import effective_ranges, is_effective, load_markers
from projections.projector import (
    Projector,
    create_schema,
    fetch_events,
    quote_identifier,
    use_schema,
)
from tracker.db import Connection
from tracker.eventlog.codec import codec

BATCH_EVENTS = 5000

Progress = Callable[[int, int, float], None]
"""Called with (events folded, positions read, events per second)."""


class Built(msgspec.Struct, frozen=True):
    schema: str
    upto: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float(self.events)


class TableDrift(msgspec.Struct, frozen=True):
    table: str
    live: TableChecksum
    built: TableChecksum
    only_live: int
    only_built: int


async def build_generation(
    pool: asyncpg.Pool,
    projector: Projector,
    schema: str,
    upto: int,
    *,
    progress: Progress | None = None,
) -> Built:
    """Fold the effective history up to ``upto`` into a fresh ``schema``."""
    ddl, _ = projector.definition()
    started = time.perf_counter()
    folded = 0

    async with pool.acquire() as connection:
        async with connection.transaction():
            await create_schema(connection, schema, ddl)
        ranges = effective_ranges(await load_markers(connection), upto)

        after = 0
        while after < upto:
            async with connection.transaction():
                rows = await fetch_events(
                    connection, after, BATCH_EVENTS, projector.event_types, upto
                )
                if not rows:
                    break
                events = [
                    codec.decode(row[1], row[2], row[3])
                    for row in rows
                    if row[3] is not None and is_effective(ranges, row[0])
                ]
                await use_schema(connection, schema)
                await projector.fold(connection, events)
            after = rows[-1][0]
            folded += len(events)
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(folded, after, folded / elapsed if elapsed else 0.0)

    return Built(schema, upto, folded, time.perf_counter() - started)


async def compare_generations(
    connection: Connection, live: str, built: str
) -> list[TableDrift]:
    """The tables whose rows differ between two schemas, with row counts."""
    live_sums = await read_model_checksums(connection, live)
    built_sums = await read_model_checksums(connection, built)

    drift: list[TableDrift] = []
    for table in sorted(set(live_sums) | set(built_sums)):
        empty = TableChecksum(0, "")
        ours, theirs = live_sums.get(table, empty), built_sums.get(table, empty)
        if ours == theirs:
            continue
        only_live, only_built = await _row_differences(connection, live, built, table)
        drift.append(TableDrift(table, ours, theirs, only_live, only_built))

    return drift


async def switch_generation(
    connection: Connection, projector: Projector, built: Built
) -> None:
    """Put ``built`` in place of the live schema; call inside a transaction.

    The projector's checkpoint moves to the generation's position in the
    same transaction, so the live projector carries on from there.
    """
    _, digest = projector.definition()
    live = quote_identifier(projector.schema)

    # The checkpoint row first: a live batch holding it finishes before the
    # schemas move, and no new batch starts until this commits.
    await connection.execute(
        "SELECT position FROM es.checkpoints WHERE projector = $1 FOR UPDATE",
        projector.name,
    )
    await connection.execute(f"DROP SCHEMA IF EXISTS {live} CASCADE")
    await connection.execute(
        f"ALTER SCHEMA {quote_identifier(built.schema)} RENAME TO {live}"
    )
    await connection.execute(
        "INSERT INTO es.checkpoints (projector, position, definition)"
        " VALUES ($1, $2, $3) ON CONFLICT (projector) DO UPDATE"
        " SET position = $2, definition = $3, updated_at = now()",
        projector.name,
        built.upto,
        digest,
    )


async def drop_generation(connection: Connection, schema: str) -> None:
    quoted = quote_identifier(schema)
    await connection.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")


async def _row_differences(
    connection: Connection, live: str, built: str, table: str
) -> tuple[int, int]:
    exists = await connection.fetchval(
        "SELECT count(*) = 2 FROM pg_tables WHERE tablename = $1"
        " AND schemaname = ANY($2::text[])",
        table,
        [live, built],
    )
    if not exists:
        return (0, 0)

    a = f"{quote_identifier(live)}.{quote_identifier(table)}"
    b = f"{quote_identifier(built)}.{quote_identifier(table)}"
    only_live = await connection.fetchval(
        f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) d"
    )
    only_built = await connection.fetchval(
        f"SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) d"
    )

    return (only_live, only_built)
