"""What our server's request log says about a window of the bench.

Each request is one JSON line; a read that waited for the projectors names
the wait in ``barrier_ms``.  The wait is measured inside the server, so it
is the barrier's own share of a read, apart from the time the read spends
queued for a busy CPU like any other request.
"""

import datetime
import json
from pathlib import Path

from bench.stats import latency_summary

READ_ROUTE = "/runs/get"


def barrier_waits(log_path: Path, began: float, ended: float) -> list[float]:
    """The barrier wait, in ms, of every ``runs/get`` served in the window.

    Args:
        log_path: The server's log file.
        began: The window's start, as ``time.time()`` gave it.
        ended: The window's end, likewise.
    """
    waits: list[float] = []
    with log_path.open(encoding="utf-8") as lines:
        for line in lines:
            if READ_ROUTE not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            served = _epoch(entry.get("timestamp"))
            if served is None or not began <= served <= ended:
                continue
            if entry.get("event") == "request" and entry.get("status") == 200:
                waits.append(float(entry.get("barrier_ms") or 0.0))

    return waits


def barrier_figures(
    log_path: Path, began: float, ended: float
) -> dict[str, float | None]:
    """p50/p99 of the waits, and the share of reads that waited at all."""
    waits = barrier_waits(log_path, began, ended)
    if not waits:
        return {}

    figures = latency_summary("wait", waits)
    figures["waited_pct"] = 100 * sum(1 for wait in waits if wait > 0) / len(waits)
    return figures


def _epoch(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp()
