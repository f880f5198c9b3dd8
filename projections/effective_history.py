"""Which events of the log count, once restores have happened.

A restore never removes events.  It appends a marker at position ``m`` that
takes the tenant back to position ``t``; the effective history up to a
position ``p`` is then defined recursively:

* with no marker at or below ``p``, every event up to ``p``;
* otherwise, with ``m`` the latest marker at or below ``p`` and ``t`` its
  target: the effective history up to ``t``, followed by the events after
  ``m`` up to ``p``.

So restores nest, a restore into a range an earlier restore superseded
brings that range back exactly as it stood, and undoing a restore is a
restore to a point after it.  The marker events themselves fold to nothing.
"""

from collections.abc import Sequence

from tracker.db import Connection

Ranges = list[tuple[int, int]]


def effective_ranges(markers: Sequence[tuple[int, int]], upto: int) -> Ranges:
    """The effective history up to ``upto`` as inclusive position ranges.

    Args:
        markers: ``(marker position, target)`` pairs, in any order.
        upto: The last position to consider.
    """
    ordered = sorted(markers)
    ranges: Ranges = []
    end = upto

    # Walk backwards from the latest relevant marker to its target, and on.
    while True:
        latest = next(((m, t) for m, t in reversed(ordered) if m <= end), None)
        if latest is None:
            if end >= 1:
                ranges.append((1, end))
            break
        marker, target = latest
        if marker < end:
            ranges.append((marker + 1, end))
        end = target

    return sorted(ranges)


def is_effective(ranges: Ranges, position: int) -> bool:
    return any(low <= position <= high for low, high in ranges)


async def load_markers(connection: Connection) -> list[tuple[int, int]]:
    rows = await connection.fetch("SELECT position, target FROM es.restore_markers")
    return [(row["position"], row["target"]) for row in rows]
