"""Metric history reads."""

import math
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager

import asyncpg

from projections.queries.history_tokens import Point
from projections.views import Metric, MetricWithRunId, wire_double
from tracker.db import Connection

# The number the points of run $1's metric $2 are stored under; NULL, which
# matches no point, for a metric the run never logged.
_SERIES = "SELECT series FROM rm.latest_metrics WHERE run_id = $1 AND key = $2"


# The points of one series in MLflow's order (timestamp, step, value): the
# first chunk after an offset, then each chunk after the last point read.
# The order is the primary key's, and PostgreSQL orders NaN above every
# number and equal to itself, so "after" is exact for every value.
_FIRST_CHUNK = (
    "SELECT timestamp, step, value FROM rm.metrics WHERE series = $1"
    " ORDER BY timestamp, step, value OFFSET $2 LIMIT $3"
)
_NEXT_CHUNK = (
    "SELECT timestamp, step, value FROM rm.metrics"
    " WHERE series = $1 AND (timestamp, step, value) > ($2, $3, $4)"
    " ORDER BY timestamp, step, value LIMIT $5"
)
# Rows a streamed history reads and sends at a time.
HISTORY_CHUNK = 10_000

Connect = Callable[[], AbstractAsyncContextManager[Connection]]


async def metric_history_chunks(
    connect: Connect,
    run_id: str,
    key: str,
    *,
    offset: int = 0,
    after: Point | None = None,
    limit: int | None = None,
) -> AsyncGenerator[list[asyncpg.Record], None]:
    """The history's (timestamp, step, value) rows, ``HISTORY_CHUNK`` at a time.

    The rows start after the point ``after`` when it is given, else after
    ``offset`` points.  Each chunk is read on a connection of its own from
    ``connect()``, given back before the chunk is yielded: a client that
    reads slowly holds no connection and no snapshot.  A chunk starts after
    the last point of the one before, so a point logged meanwhile may join
    the answer's tail, but none is skipped or sent twice.
    """
    async with connect() as connection:
        series = await connection.fetchval(_SERIES, run_id, key)
        if series is None:
            return
        size = _chunk_size(limit, 0)
        if after is None:
            rows = await connection.fetch(_FIRST_CHUNK, series, offset, size)
        else:
            rows = await connection.fetch(_NEXT_CHUNK, series, *after, size)

    sent = 0
    while rows:
        yield rows
        sent += len(rows)
        size = _chunk_size(limit, sent)
        if len(rows) < HISTORY_CHUNK or size == 0:
            return
        last = rows[-1]
        async with connect() as connection:
            rows = await connection.fetch(_NEXT_CHUNK, series, *last, size)


def _chunk_size(limit: int | None, sent: int) -> int:
    return HISTORY_CHUNK if limit is None else min(HISTORY_CHUNK, limit - sent)


def history_points(key: str, rows: list[asyncpg.Record]) -> list[Metric]:
    """The wire form of rows from ``metric_history_chunks``."""
    return [
        Metric(key=key, value=wire_double(value), timestamp=timestamp, step=step)
        for timestamp, step, value in rows
    ]


async def sampled_history(
    connection: Connection,
    run_id: str,
    key: str,
    *,
    max_results: int,
    steps: tuple[int, int] | None,
) -> list[MetricWithRunId]:
    """Up to ``max_results`` points spread evenly over the run's history.

    The points are ordered by step, timestamp and value and cut into
    ``max_results`` buckets; the first point of each bucket is kept, and the
    very last point always is, replacing the final sample if the page is full.
    """
    low, high = steps if steps is not None else (None, None)
    window = " AND ($3::int8 IS NULL OR step BETWEEN $3 AND $4::int8)"

    rows = await connection.fetch(
        "SELECT DISTINCT ON (bucket) step, timestamp, value FROM ("
        " SELECT step, timestamp, value,"
        " ntile($5) OVER (ORDER BY step, timestamp, value) AS bucket"
        f" FROM rm.metrics WHERE series = ({_SERIES})" + window + ") AS m"
        " ORDER BY bucket, step, timestamp, value",
        run_id,
        key,
        low,
        high,
        max_results,
    )
    last = await connection.fetchrow(
        "SELECT step, timestamp, value FROM rm.metrics"
        f" WHERE series = ({_SERIES})"
        + window
        + " ORDER BY step DESC, timestamp DESC, value DESC LIMIT 1",
        run_id,
        key,
        low,
        high,
    )

    points = [(row[0], row[1], row[2]) for row in rows]
    if last is not None and (not points or not _same(points[-1], last)):
        if len(points) >= max_results:
            points[-1] = (last[0], last[1], last[2])
        else:
            points.append((last[0], last[1], last[2]))

    return [
        MetricWithRunId(
            key=key,
            value=wire_double(value),
            timestamp=timestamp,
            step=step,
            run_id=run_id,
        )
        for step, timestamp, value in points
    ]


def _same(point: tuple[int, int, float], row: asyncpg.Record) -> bool:
    """Compare two points, NaN equal to NaN as PostgreSQL has it."""
    step, timestamp, value = point
    other = row[2]
    same_value = value == other or (math.isnan(value) and math.isnan(other))

    return step == row[0] and timestamp == row[1] and same_value
