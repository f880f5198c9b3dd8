"""Rebuild and restore of one tenant whose log holds a million events.

No HTTP and no client: the tenant's log is filled through the one append
path (``WriteTransaction.append``) with chunks of events shaped like real
tracking, projected live, and then rebuilt beside the live read models,
previewed (the restore's dry run) and restored to the middle of the log,
each timed on its own.
"""

import asyncio
import random
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.workload import Figures
from tracker.admin.rebuild import rebuild
from tracker.admin.restore import preview_restore, restore
from tracker.clock import now_ms
from tracker.commands.experiments import create_experiment
from tracker.commands.runs import create_run, run_stream
from tracker.context import RequestContext, current_request
from tracker.eventlog.append import EventWriter
from tracker.eventlog.events import (
    Event,
    Metric,
    MetricsLogged,
    Param,
    ParamsLogged,
    RunTagDeleted,
    RunTagsSet,
    RunUpdated,
    Tag,
)
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import TRACKING_PROJECTOR, tenant_projectors

RESTORE_TENANT = "bench-restore"
EXPERIMENTS = 10
RUNS = 200
EVENTS_PER_APPEND = 1000
RUN_STREAM_TYPE = "run"


def restore_scenario(bin_dir: Path, cluster_url: str, events: int) -> Figures:
    """Fill a fresh tenant with ``events`` events, then time rebuild and restore.

    Args:
        bin_dir: The venv's bin folder, which holds the ``calabi`` command.
        cluster_url: The cluster the tenant's database is created on.
        events: How many tracking events the log holds before the rebuild.
    """
    subprocess.run(
        [
            str(bin_dir / "calabi"),
            "--log-level",
            "warning",
            "tenant",
            "create",
            RESTORE_TENANT,
            "--database-url",
            cluster_url,
            "--no-artifacts",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return asyncio.run(_measure(cluster_url, events))


async def _measure(cluster_url: str, events: int) -> Figures:
    pool = await asyncpg.create_pool(
        cluster_url, database=tenant_database(RESTORE_TENANT), min_size=1, max_size=4
    )
    # The restore's marker event names its actor from the request context.
    token = current_request.set(
        RequestContext(
            tenant=RESTORE_TENANT,
            actor="bench",
            request_id=uuid.uuid4().hex,
            user_agent="calabi-bench",
        )
    )
    try:
        return await _timed_steps(pool, events)
    finally:
        current_request.reset(token)
        await pool.close()


async def _timed_steps(pool: asyncpg.Pool, events: int) -> Figures:
    began = time.perf_counter()
    await _fill(pool, events)
    fill_s = time.perf_counter() - began

    projectors = tenant_projectors(pool)
    began = time.perf_counter()
    folded = 0
    for projector in projectors:
        await projector.prepare()
        folded = max(folded, await projector.catch_up())
    live_s = time.perf_counter() - began
    head: int = await pool.fetchval("SELECT last_position FROM es.head")

    began = time.perf_counter()
    rebuilt = await rebuild(pool, projectors, switch=False)
    rebuild_s = time.perf_counter() - began
    tracking = next(
        built
        for projector, built in zip(projectors, rebuilt.built, strict=True)
        if projector.name == TRACKING_PROJECTOR
    )

    target = events // 2
    began = time.perf_counter()
    await preview_restore(pool, projectors, target)
    preview_s = time.perf_counter() - began

    began = time.perf_counter()
    await restore(pool, projectors, target, reason="bench")
    restore_s = time.perf_counter() - began

    return {
        "events": float(head),
        "fill_events_per_s": events / fill_s,
        "live_events_per_s": folded / live_s,
        "rebuild_s": rebuild_s,
        "rebuild_events_per_s": tracking.events_per_second,
        "rebuild_matches": 1.0 if not rebuilt.drift else 0.0,
        "preview_s": preview_s,
        "restore_s": restore_s,
    }


async def _fill(pool: asyncpg.Pool, events: int) -> None:
    writer = EventWriter(pool)
    runs: list[_Run] = []
    async with writer.transaction() as tx:
        for number in range(EXPERIMENTS):
            experiment_id = await create_experiment(tx, f"restore-bench-{number}")
            for _ in range(RUNS // EXPERIMENTS):
                created = await create_run(
                    tx,
                    experiment_id,
                    user_id="bench",
                    run_name=None,
                    start_time=now_ms(),
                    tags=[],
                )
                runs.append(_Run(created.run_id))

    chooser = random.Random(7)
    written = 0
    while written < events:
        run = runs[chooser.randrange(len(runs))]
        size = min(EVENTS_PER_APPEND, events - written)
        chunk = list(run.events(chooser, size))
        async with writer.transaction() as tx:
            await tx.append(run_stream(run.run_id), RUN_STREAM_TYPE, chunk)
        written += size


@dataclass
class _Run:
    """One run's counters, so its steps grow and its keys stay unique."""

    run_id: str
    step: int = 0
    params: int = 0
    tags: list[str] = field(default_factory=list)
    renames: int = 0

    def events(self, chooser: random.Random, count: int) -> Iterator[Event]:
        """``count`` events: mostly metrics, some params, tags and their edits."""
        for _ in range(count):
            roll = chooser.random()
            if roll < 0.90:
                yield self._metrics(chooser)
            elif roll < 0.95:
                yield self._params()
            elif roll < 0.98 or not self.tags:
                yield self._tags()
            elif roll < 0.99:
                yield RunTagDeleted(run_id=self.run_id, key=self.tags.pop())
            else:
                self.renames += 1
                yield RunUpdated(run_id=self.run_id, run_name=f"renamed-{self.renames}")

    def _metrics(self, chooser: random.Random) -> MetricsLogged:
        # Ten to a hundred keys, most calls near ten (fifteen on average): a
        # training loop's few losses and rates, now and then a wide evaluation.
        width = 10 + int(90 * chooser.random() ** 16)
        self.step += 1
        stamp = now_ms()
        metrics = tuple(
            Metric(f"m{key}", chooser.random(), stamp, self.step)
            for key in range(width)
        )
        return MetricsLogged(run_id=self.run_id, metrics=metrics)

    def _params(self) -> ParamsLogged:
        first = self.params
        self.params += 5
        params = tuple(Param(f"p{key}", str(key)) for key in range(first, first + 5))
        return ParamsLogged(run_id=self.run_id, params=params)

    def _tags(self) -> RunTagsSet:
        keys = [f"t{len(self.tags) + offset}" for offset in range(3)]
        self.tags += keys
        return RunTagsSet(run_id=self.run_id, tags=tuple(Tag(key, "v") for key in keys))
