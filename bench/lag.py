"""Projection lag of our server, read from its tenant database while it works.

The log's head (``es.head``) and the projector's checkpoint
(``es.checkpoints``) are read together every few milliseconds. The lag in
events is their difference at a sample. The lag in time is, for a sample,
how long until a later sample shows the checkpoint at or past that sample's
head: the wait a read arriving at that moment would see at its barrier.
"""

import asyncio
import threading
import time
from dataclasses import dataclass, field

import asyncpg

from bench.stats import percentile

TRACKING_PROJECTOR = "tracking"


@dataclass(frozen=True, slots=True)
class Reading:
    at: float
    head: int
    checkpoint: int


@dataclass(slots=True)
class LagSampler:
    """Samples head and checkpoint on a thread of its own until stopped.

    Args:
        database_url: The tenant database.
        interval: Seconds between samples.
    """

    database_url: str
    interval: float = 0.01
    readings: list[Reading] = field(default_factory=list)
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._sample()), name="lag", daemon=True
        )
        self._thread.start()

    def stop(self) -> list[Reading]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.readings

    async def _sample(self) -> None:
        try:
            connection = await asyncpg.connect(self.database_url)
        except (OSError, asyncpg.PostgresError) as error:
            self.error = repr(error)
            return

        try:
            while not self._stop.is_set():
                row = await connection.fetchrow(
                    "SELECT h.last_position, c.position FROM es.head h"
                    " JOIN es.checkpoints c ON c.projector = $1",
                    TRACKING_PROJECTOR,
                )
                if row is not None:
                    self.readings.append(Reading(time.perf_counter(), row[0], row[1]))
                await asyncio.sleep(self.interval)
        finally:
            await connection.close()


def summarise(readings: list[Reading]) -> dict[str, float | None]:
    """Lag in events and in milliseconds, p50/p99/max over the readings."""
    events = [reading.head - reading.checkpoint for reading in readings]
    waits_ms = _catch_up_times_ms(readings)

    return {
        "samples": float(len(readings)),
        "lag_events_p50": percentile(events, 0.5),
        "lag_events_p99": percentile(events, 0.99),
        "lag_events_max": float(max(events)) if events else None,
        "lag_ms_p50": percentile(waits_ms, 0.5),
        "lag_ms_p99": percentile(waits_ms, 0.99),
        "lag_ms_max": max(waits_ms) if waits_ms else None,
    }


def _catch_up_times_ms(readings: list[Reading]) -> list[float]:
    # Checkpoints only move forward, so one pointer walks the readings once.
    waits: list[float] = []
    later = 0
    for index, reading in enumerate(readings):
        later = max(later, index)
        while later < len(readings) and readings[later].checkpoint < reading.head:
            later += 1
        if later == len(readings):
            break
        waits.append((readings[later].at - reading.at) * 1000)

    return waits
