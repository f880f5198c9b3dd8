"""Writing a batch's metric points, each under its series' number.

A series is one (run, key) pair; ``latest_metrics`` holds its latest value
and its number (see schemas/read_models/tracking.sql).  Three statements
whatever the batch holds: number the new series while upserting the latest
values, read back every pair's number, and insert the points.
"""

from collections.abc import Sequence

from tracker.db import Connection
from tracker.eventlog.events import Metric

Pair = tuple[str, str]

# A new series is numbered after every existing one, in the order the batch
# first names it; the batch follows log order, so the numbering does too.
# The placeholder of a pair that already exists is never stored: its row
# conflicts and only the latest value is updated.
_UPSERT_LATEST = """
WITH batch AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::float8[], $4::int8[], $5::int8[]
    ) WITH ORDINALITY AS b(run_id, key, value, timestamp, step, ord)
), fresh AS (
    SELECT b.ord, row_number() OVER (ORDER BY b.ord) AS rank
    FROM batch b
    WHERE NOT EXISTS (
        SELECT 1 FROM latest_metrics l WHERE l.run_id = b.run_id AND l.key = b.key
    )
)
INSERT INTO latest_metrics AS l
    (run_id, key, value, timestamp, step, series, experiment_id)
SELECT b.run_id, b.key, b.value, b.timestamp, b.step,
       coalesce(
           f.rank + (SELECT coalesce(max(series), 0) FROM latest_metrics),
           -b.ord
       ),
       (SELECT r.experiment_id FROM runs r WHERE r.run_id = b.run_id)
FROM batch b LEFT JOIN fresh f USING (ord)
ORDER BY b.ord
ON CONFLICT (run_id, key) DO UPDATE SET
    value = excluded.value, timestamp = excluded.timestamp, step = excluded.step
WHERE (excluded.step, excluded.timestamp, excluded.value)
    > (l.step, l.timestamp, l.value)
"""

_SERIES_OF_PAIRS = """
SELECT l.series
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS p(run_id, key, ord)
JOIN latest_metrics l USING (run_id, key)
ORDER BY p.ord
"""

_INSERT_POINTS = """
INSERT INTO metrics
SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::float8[])
ON CONFLICT DO NOTHING
"""


async def write_metrics(
    connection: Connection,
    points: Sequence[tuple[str, Metric]],
    latest: dict[Pair, Metric],
) -> None:
    """Store ``points`` and move each series' latest value.

    Args:
        points: Every point of the batch, with its run id.
        latest: The batch's latest point of each pair, in the order the batch
            first names the pair; every point's pair is among them.
    """
    if not latest:
        return

    pairs = list(latest)
    run_ids = [run_id for run_id, _ in pairs]
    keys = [key for _, key in pairs]
    newest = list(latest.values())
    await connection.execute(
        _UPSERT_LATEST,
        run_ids,
        keys,
        [metric.value for metric in newest],
        [metric.timestamp for metric in newest],
        [metric.step for metric in newest],
    )

    numbers = await connection.fetch(_SERIES_OF_PAIRS, run_ids, keys)
    series_of = {pair: row[0] for pair, row in zip(pairs, numbers, strict=True)}

    await connection.execute(
        _INSERT_POINTS,
        [series_of[(run_id, metric.key)] for run_id, metric in points],
        [metric.timestamp for _, metric in points],
        [metric.step for _, metric in points],
        [metric.value for _, metric in points],
    )
