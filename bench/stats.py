"""Summaries of latency samples."""

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of ``samples``; None when there are none.

    Args:
        samples: Measurements in any order.
        fraction: 0.5 for the median, 0.99 for p99.
    """
    if not samples:
        return None

    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))

    return ordered[rank - 1]


def latency_summary(
    prefix: str, samples_ms: Sequence[float]
) -> dict[str, float | None]:
    """``{prefix}_p50_ms`` and ``{prefix}_p99_ms`` of ``samples_ms``."""
    return {
        f"{prefix}_p50_ms": percentile(samples_ms, 0.5),
        f"{prefix}_p99_ms": percentile(samples_ms, 0.99),
    }


def rate(count: float, seconds: float) -> float | None:
    """``count`` per second, or None for an empty interval."""
    return count / seconds if seconds > 0 else None
