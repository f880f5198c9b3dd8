"""Writing a batch's metric points, each under its series' number.

A series is one (run, key) pair; ``latest_metrics`` holds its latest value
and its number (see schemas/read_models/tracking.sql).  One call of the
read models' ``write_metrics`` numbers the new series, moves the latest
values and inserts the points, whatever the batch holds.
"""

from collections.abc import Sequence

from tracker.db import Connection
from tracker.eventlog.events import Metric

Pair = tuple[str, str]


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

    place = {pair: index for index, pair in enumerate(latest, start=1)}
    newest = list(latest.values())
    await connection.execute(
        "SELECT write_metrics($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [run_id for run_id, _ in latest],
        [key for _, key in latest],
        [metric.value for metric in newest],
        [metric.timestamp for metric in newest],
        [metric.step for metric in newest],
        [place[(run_id, metric.key)] for run_id, metric in points],
        [metric.timestamp for _, metric in points],
        [metric.step for _, metric in points],
        [metric.value for _, metric in points],
    )
