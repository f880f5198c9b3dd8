"""The COPY ceiling: the ingest's metric rows written by the fastest raw path.

The rows have the shape of a metric point (run id, key, timestamp, step,
value) and go into a plain table with no index, so the figure is what the
cluster itself can take on this machine, with no server, no HTTP, no JSON.
Two ways are timed and the faster is the ceiling: ``connections`` writers
committing one COPY of ``batch_rows`` rows at a time (an acknowledged
batch, like the ingest's), and one COPY of everything on one connection.
"""

import asyncio
import time
import uuid

import asyncpg

from bench.clients import METRIC_KEYS, STEPS_PER_BATCH

COPY_DATABASE = "bench_copy"
COLUMNS = ("run_id", "key", "timestamp", "step", "value")

Row = tuple[str, str, int, int, float]


def copy_ceiling(
    database_url: str, points: int, connections: int, batch_rows: int = 1000
) -> dict[str, float]:
    """Points per second of both ways of writing ``points`` rows.

    Args:
        database_url: The empty database to create the tables in.
        points: How many rows each way writes.
        connections: Concurrent writers for the batched way.
        batch_rows: Rows per COPY, and per commit, for the batched way.
    """
    return asyncio.run(_measure(database_url, points, connections, batch_rows))


async def _measure(
    database_url: str, points: int, connections: int, batch_rows: int
) -> dict[str, float]:
    rows = _metric_rows(points)
    setup = await asyncpg.connect(database_url)
    try:
        for table in ("copy_batched", "copy_single"):
            await setup.execute(
                f"CREATE TABLE {table} (run_id text NOT NULL, key text NOT NULL,"
                " timestamp bigint NOT NULL, step bigint NOT NULL,"
                " value double precision NOT NULL)"
            )
    finally:
        await setup.close()

    batched = await _batched(database_url, rows, connections, batch_rows)
    single = await _single(database_url, rows)

    return {
        "batched_points_per_s": len(rows) / batched,
        "single_copy_points_per_s": len(rows) / single,
        "ceiling_points_per_s": len(rows) / min(batched, single),
    }


async def _batched(
    database_url: str, rows: list[Row], connections: int, batch_rows: int
) -> float:
    batches = [rows[at : at + batch_rows] for at in range(0, len(rows), batch_rows)]
    shares = [batches[writer::connections] for writer in range(connections)]
    pool = await asyncpg.create_pool(
        database_url, min_size=connections, max_size=connections
    )
    try:
        began = time.perf_counter()
        await asyncio.gather(*(_write_share(pool, share) for share in shares))
        seconds = time.perf_counter() - began
    finally:
        await pool.close()

    return seconds


async def _write_share(pool: asyncpg.Pool, share: list[list[Row]]) -> None:
    async with pool.acquire() as connection:
        for batch in share:
            await connection.copy_records_to_table(
                "copy_batched", records=batch, columns=COLUMNS
            )


async def _single(database_url: str, rows: list[Row]) -> float:
    connection = await asyncpg.connect(database_url)
    try:
        began = time.perf_counter()
        await connection.copy_records_to_table(
            "copy_single", records=rows, columns=COLUMNS
        )
        seconds = time.perf_counter() - began
    finally:
        await connection.close()

    return seconds


def _metric_rows(points: int) -> list[Row]:
    # The ingest's shape: runs of keys k0..k9, 100 steps per batch.
    now = int(time.time() * 1000)
    per_batch = METRIC_KEYS * STEPS_PER_BATCH
    rows: list[Row] = []
    run_id = uuid.uuid4().hex
    for index in range(points):
        batch, within = divmod(index, per_batch)
        if within == 0 and batch % 4 == 0:
            run_id = uuid.uuid4().hex
        key, step = divmod(within, STEPS_PER_BATCH)
        step += batch * STEPS_PER_BATCH
        rows.append((run_id, f"k{key}", now, step, key + step / 1_000_000))

    return rows
