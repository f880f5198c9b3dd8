"""The scenarios' common ground, and the ingest and single-call scenarios.

Each scenario is driven through the stock ``mlflow`` client over HTTP; the
search scenarios are in ``bench.search_scenarios``, the history and
artifact ones in ``bench.transfer_scenarios``.

A scenario returns its figures as a flat mapping; None means the server
lacks what the scenario needs (FastTrackML has no bulk-interval history and
no artifact upload). Every stretch of work runs in a named sampler window,
so the memory and CPU it cost are reported next to its figures.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from typing import Any, TypeVar

from mlflow.tracking import MlflowClient

from bench import clients as c
from bench.sampler import Sampler, Usage
from bench.stats import latency_summary, rate

Value = float | None
Figures = dict[str, Value]

WARM_UP_ROUNDS = 4
BARRIER_PROBES = 50

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each scenario does; every one is a command-line flag."""

    ingest_few: int = 4
    ingest_many: int = 16
    # 256 acknowledged writes per phase, so that its p99 is not just its
    # slowest write (with 64 it was, and moved by 2x from run to run).
    ingest_batches: int = 256
    batches_per_run: int = 4
    single_calls: int = 100
    search_runs: int = 300
    search_repeats: int = 15
    page_size: int = 100
    history_points: int = 100_000
    history_fetches: int = 2
    bulk_repeats: int = 10
    experiments: int = 1000
    experiment_repeats: int = 20
    growth_factor: int = 10
    artifact_mib: int = 200
    setup_clients: int = 8
    copy_connections: int = 4
    restore_events: int = 1_000_000


# The windows of read latencies that follow writes; the database is settled
# before each, so that no server's reads share a window with its autovacuum.
# (The bulk-interval reads follow the history fetch with no write between.)
READ_WINDOWS = frozenset({"search", "growth_search", "history_fetch", "experiments"})


@dataclass
class Target:
    """One server under test, and where its measurements go."""

    name: str
    tracking_uri: str
    pool: Pool
    sizes: Sizes
    sampler: Sampler
    usage: dict[str, dict[str, object]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Wrapped around a window by name, e.g. to profile it.
    around: dict[str, Callable[[], Any]] = field(default_factory=dict)
    # Called before each window of timed reads (READ_WINDOWS): settles the
    # server's database (``Cluster.settle``); None for a server without one.
    settle: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.client = MlflowClient(self.tracking_uri)

    @contextmanager
    def window(self, name: str) -> Iterator[Usage]:
        """Sample the server's tree while the body runs, as window ``name``."""
        if name in READ_WINDOWS and self.settle is not None:
            self.settle()
        wrapper = self.around.get(name)
        with self.sampler.window() as usage:
            if wrapper is None:
                yield usage
            else:
                with wrapper():
                    yield usage
        self.usage[name] = usage.as_dict()

    def note_errors(self, scenario: str, errors: Sequence[str]) -> None:
        if errors:
            self.errors.setdefault(scenario, []).extend(errors[:20])


# Idle -------------------------------------------------------------------------


def idle(target: Target, seconds: float = 2.0) -> Figures:
    """The server's footprint before any work."""
    with target.window("idle") as usage:
        time.sleep(seconds)

    return {"rss_mib": usage.start_rss_mib.get(target.name)}


def warm_up(target: Target, processes: set[int]) -> Figures:
    """Give every client process one unmeasured round trip with the server.

    Args:
        processes: The pool's process ids; rounds of tasks go out until each
            of them has run one (the pool gives no say over which runs which).
    """
    experiment_id = target.client.create_experiment("bench-warm-up")
    task = c.WarmUpTask(target.tracking_uri, experiment_id, linger=0.3)
    warmed: set[int] = set()
    for _ in range(WARM_UP_ROUNDS):
        if warmed >= processes:
            break
        tasks = [task] * len(processes)
        warmed |= set(target.pool.map(c.warm_up_client, tasks, chunksize=1))

    return {"processes": float(len(warmed & processes))}


# Ingest -----------------------------------------------------------------------


def ingest(target: Target, clients: int, window: str) -> Figures:
    """``clients`` processes ingesting at once into a fresh experiment."""
    sizes = target.sizes
    experiment_id = target.client.create_experiment(f"bench-{window}")
    per_client = max(1, sizes.ingest_batches // clients)
    start_at = time.time() + 0.5
    tasks = [
        c.IngestTask(
            tracking_uri=target.tracking_uri,
            experiment_id=experiment_id,
            client_index=index,
            batches=per_client,
            batches_per_run=sizes.batches_per_run,
            start_at=start_at,
        )
        for index in range(clients)
    ]

    with target.window(window):
        logs = target.pool.map(c.ingest, tasks, chunksize=1)

    elapsed = max(log.finished for log in logs) - start_at
    points = sum(log.points for log in logs)
    errors = [error for log in logs for error in log.errors]
    target.note_errors(window, errors)

    def pooled(name: str) -> list[float]:
        return [ms for log in logs for ms in getattr(log, name)]

    return {
        "points_per_s": rate(points, elapsed),
        "points": float(points),
        **latency_summary("acknowledged", pooled("acknowledged_ms")),
        **latency_summary("write", pooled("write_ms")),
        **latency_summary("read_after_write", pooled("read_ms")),
        "stale_reads": float(sum(log.stale_reads for log in logs)),
        "never_visible": float(sum(log.never_visible for log in logs)),
        "errors": float(len(errors)),
    }


def barrier_idle(target: Target) -> Figures:
    """A GET right after a write versus a GET with nothing pending, idle."""
    client = target.client
    experiment_id = client.create_experiment("bench-barrier")
    run_id = client.create_run(experiment_id).info.run_id

    plain: list[float] = []
    after_write: list[float] = []
    for probe in range(BARRIER_PROBES):
        began = time.perf_counter()
        client.get_run(run_id)
        plain.append((time.perf_counter() - began) * 1000)

        client.set_tag(run_id, "probe", str(probe))
        began = time.perf_counter()
        client.get_run(run_id)
        after_write.append((time.perf_counter() - began) * 1000)

    return {
        **latency_summary("idle_get", plain),
        **latency_summary("idle_get_after_write", after_write),
    }


# Single calls -------------------------------------------------------------------


def single_calls(target: Target) -> Figures:
    """log_metric, log_param and set_tag, one call at a time on one client."""
    client = target.client
    experiment_id = client.create_experiment("bench-single")
    run_id = client.create_run(experiment_id).info.run_id
    calls = target.sizes.single_calls
    kinds: dict[str, Callable[[int], object]] = {
        "log_metric": lambda n: client.log_metric(run_id, "single", n * 0.5, step=n),
        "log_param": lambda n: client.log_param(run_id, f"single-{n}", str(n)),
        "set_tag": lambda n: client.set_tag(run_id, f"single-{n}", str(n)),
    }

    figures: Figures = {}
    with target.window("single"):
        for kind, call in kinds.items():
            latencies: list[float] = []
            began = time.perf_counter()
            for n in range(calls):
                start = time.perf_counter()
                call(n)
                latencies.append((time.perf_counter() - start) * 1000)
            figures[f"{kind}_calls_per_s"] = rate(calls, time.perf_counter() - began)
            figures |= latency_summary(kind, latencies)

    return figures


# Helpers ------------------------------------------------------------------------


def timed(times: int, call: Callable[[], T]) -> tuple[list[float], T]:
    latencies: list[float] = []
    result: T
    for _ in range(times):
        began = time.perf_counter()
        result = call()
        latencies.append((time.perf_counter() - began) * 1000)

    return latencies, result


def split(first: int, count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` items from ``first`` in up to ``parts`` contiguous shares."""
    size, extra = divmod(count, parts)
    shares: list[tuple[int, int]] = []
    start = first
    for part in range(parts):
        share = size + (1 if part < extra else 0)
        if share:
            shares.append((start, share))
        start += share

    return shares


def growth_of(usage: Usage, name: str) -> Value:
    if name not in usage.peak_rss_mib:
        return None
    return usage.peak_rss_mib[name] - usage.start_rss_mib[name]


def ratio(numerator: Value, denominator: Value) -> Value:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
