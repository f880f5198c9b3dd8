"""Work that runs in the client processes, one stock MlflowClient in each.

Concurrent clients are processes rather than threads: one Python process
spends ~15-20 ms of CPU turning a 1,000-metric log-batch into JSON, so a
single GIL would cap the clients before a fast server is saturated.

Everything here is a top-level function taking and returning plain
dataclasses, so that a process pool can pickle it.
"""

import functools
import os
import time
from dataclasses import dataclass, field

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

# A read that does not see the write yet is retried until then.
VISIBILITY_DEADLINE = 10.0

METRIC_KEYS = 10
STEPS_PER_BATCH = 100
PARAMS_PER_BATCH = 10
TAGS_PER_BATCH = 5

# What a call may raise when a server fails it; requests' errors are OSErrors.
CallError = (MlflowException, OSError)

SEARCH_LETTERS = "xyzw"
SEARCH_TAG_VALUES = "abc"


def client_environment() -> dict[str, str]:
    """The client settings every process of the bench runs with."""
    return {
        # Server errors count as errors, not as back-off time.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "600",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # Else set_terminated also fetches the run just to print its URL.
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "MLFLOW_HTTP_POOL_MAXSIZE": "32",
        "MLFLOW_HTTP_POOL_CONNECTIONS": "32",
    }


@functools.cache
def _client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


def warm_up(seconds: float) -> int:
    """Keep one pool process busy, so that every process gets started."""
    time.sleep(seconds)
    return os.getpid()


@dataclass(frozen=True, slots=True)
class WarmUpTask:
    tracking_uri: str
    experiment_id: str
    # Held after the call, so that the pool hands the next task to another
    # process.
    linger: float


def warm_up_client(task: WarmUpTask) -> int:
    """One ingest round trip, unmeasured; returns this process's pid.

    A process's first log-batch costs the stock client most of a second
    (lazy imports, its HTTP session, protobuf's first conversions).  The
    servers are measured one after another with the same processes, so
    without this the first server measured would pay it alone.
    """
    client = _client(task.tracking_uri)
    run_id = client.create_run(task.experiment_id).info.run_id
    result = IngestLog()
    _log_acknowledged_batch(client, run_id, 0, result)
    client.set_terminated(run_id)
    time.sleep(task.linger)
    return os.getpid()


# Ingest -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestTask:
    tracking_uri: str
    experiment_id: str
    client_index: int
    batches: int
    batches_per_run: int
    start_at: float


@dataclass(slots=True)
class IngestLog:
    """One client's ingest: per batch, the write, the read and their sum."""

    started: float = 0.0
    finished: float = 0.0
    points: int = 0
    write_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    acknowledged_ms: list[float] = field(default_factory=list)
    # The first read after a write did not show it / no read did in time.
    stale_reads: int = 0
    never_visible: int = 0
    errors: list[str] = field(default_factory=list)


def ingest(task: IngestTask) -> IngestLog:
    """Create runs and send log-batch calls, reading each one back.

    A batch is acknowledged when a following ``get_run`` shows its last
    metric values and its tags; its latency is from sending the batch to
    that read. Each batch holds ``METRIC_KEYS`` x ``STEPS_PER_BATCH``
    points, new params and changed tags. The stock client splits it into
    two requests, since it sends at most 1,000 entities in one.
    """
    client = _client(task.tracking_uri)
    result = IngestLog()
    time.sleep(max(0.0, task.start_at - time.time()))
    result.started = time.time()

    run_id: str | None = None
    for batch in range(task.batches):
        within_run = batch % task.batches_per_run
        try:
            if within_run == 0:
                run_id = None
                run_id = _start_ingest_run(client, task, batch)
            # A run that could not be created takes its batches with it.
            if run_id is None:
                continue
            _log_acknowledged_batch(client, run_id, within_run, result)
            if within_run == task.batches_per_run - 1:
                client.set_terminated(run_id)
        except CallError as error:
            result.errors.append(_describe(error))

    result.finished = time.time()
    return result


def _start_ingest_run(client: MlflowClient, task: IngestTask, batch: int) -> str:
    run = client.create_run(
        task.experiment_id,
        run_name=f"ingest-{task.client_index}-{batch}",
        tags={"bench.client": str(task.client_index)},
    )
    run_id: str = run.info.run_id
    return run_id


def _log_acknowledged_batch(
    client: MlflowClient, run_id: str, batch: int, result: IngestLog
) -> None:
    now = int(time.time() * 1000)
    first_step = batch * STEPS_PER_BATCH
    metrics = [
        Metric(f"k{key}", _ingest_value(key, step), now, step)
        for key in range(METRIC_KEYS)
        for step in range(first_step, first_step + STEPS_PER_BATCH)
    ]
    params = [Param(f"p{batch}_{n}", f"value-{n}") for n in range(PARAMS_PER_BATCH)]
    tags = [RunTag(f"t{n}", f"batch-{batch}") for n in range(TAGS_PER_BATCH)]
    last_step = first_step + STEPS_PER_BATCH - 1
    expected = {f"k{key}": _ingest_value(key, last_step) for key in range(METRIC_KEYS)}

    began = time.perf_counter()
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    written = time.perf_counter()
    visible, stale = _read_until_visible(client, run_id, expected, f"batch-{batch}")
    done = time.perf_counter()

    result.points += len(metrics)
    result.write_ms.append((written - began) * 1000)
    result.read_ms.append((done - written) * 1000)
    result.acknowledged_ms.append((done - began) * 1000)
    result.stale_reads += stale
    result.never_visible += 0 if visible else 1


def _read_until_visible(
    client: MlflowClient, run_id: str, expected: dict[str, float], tag_value: str
) -> tuple[bool, int]:
    deadline = time.monotonic() + VISIBILITY_DEADLINE
    stale = 0
    while True:
        data = client.get_run(run_id).data
        seen = all(
            abs(data.metrics.get(key, float("nan")) - value) < 1e-9
            for key, value in expected.items()
        )
        if seen and data.tags.get("t0") == tag_value:
            return True, min(stale, 1)
        stale += 1
        if time.monotonic() > deadline:
            return False, 1
        time.sleep(0.005)


def _ingest_value(key: int, step: int) -> float:
    return key + step / 1_000_000


# Search setup -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchRunsTask:
    tracking_uri: str
    experiment_id: str
    first: int
    count: int
    base_time: int


@dataclass(slots=True)
class SetupLog:
    seconds: float = 0.0
    done: int = 0
    errors: list[str] = field(default_factory=list)


def search_metric(index: int) -> float:
    """m0 of search run ``index``: distinct for every index below 2**32.

    Multiplying by an odd constant modulo 2**32 is a bijection, so no two
    runs tie and an ordering by m0 has one right answer to check.
    """
    return ((index * 2654435761) % 2**32) / 2**32


def search_param(index: int) -> str:
    return SEARCH_LETTERS[index % len(SEARCH_LETTERS)]


def search_tag(index: int) -> str:
    return SEARCH_TAG_VALUES[index % len(SEARCH_TAG_VALUES)]


def create_search_runs(task: SearchRunsTask) -> SetupLog:
    """Create runs with metrics, params and tags for the search filters.

    Run ``i`` starts at ``base_time + i`` ms, has m0..m2 at step 0, params
    p0..p4 (p1 cycles x/y/z/w) and tags t0..t1 (t1 cycles a/b/c).
    """
    client = _client(task.tracking_uri)
    result = SetupLog()
    began = time.perf_counter()

    for index in range(task.first, task.first + task.count):
        try:
            _create_search_run(client, task, index)
            result.done += 1
        except CallError as error:
            result.errors.append(_describe(error))

    result.seconds = time.perf_counter() - began
    return result


def _create_search_run(client: MlflowClient, task: SearchRunsTask, index: int) -> None:
    started = task.base_time + index
    run = client.create_run(
        task.experiment_id,
        start_time=started,
        run_name=f"search-{index:07d}",
        tags={"t0": str(index), "t1": search_tag(index)},
    )
    metric = search_metric(index)
    metrics = [
        Metric("m0", metric, started, 0),
        Metric("m1", 1 - metric, started, 0),
        Metric("m2", float(index), started, 0),
    ]
    params = [
        Param("p0", str(index)),
        Param("p1", search_param(index)),
        Param("p2", str(index % 10)),
        Param("p3", "constant"),
        Param("p4", f"{metric:.6f}"),
    ]
    client.log_batch(run.info.run_id, metrics=metrics, params=params)


# Experiments ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExperimentsTask:
    tracking_uri: str
    prefix: str
    first: int
    count: int


def experiment_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:06d}"


def experiment_team(index: int) -> str:
    return f"team-{index % 10}"


def create_experiments(task: ExperimentsTask) -> SetupLog:
    """Create experiments named ``{prefix}-{index:06d}`` with two tags each."""
    client = _client(task.tracking_uri)
    result = SetupLog()
    began = time.perf_counter()

    for index in range(task.first, task.first + task.count):
        try:
            client.create_experiment(
                experiment_name(task.prefix, index),
                tags={"team": experiment_team(index), "kind": "ab"[index % 2]},
            )
            result.done += 1
        except CallError as error:
            result.errors.append(_describe(error))

    result.seconds = time.perf_counter() - began
    return result


# History ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryTask:
    tracking_uri: str
    run_id: str
    key: str
    first_step: int
    steps: int
    batch_size: int


def history_value(step: int) -> float:
    return 1 / (1 + step)


def log_history(task: HistoryTask) -> SetupLog:
    """Log one metric's points for steps ``first_step`` onwards, in batches."""
    client = _client(task.tracking_uri)
    result = SetupLog()
    began = time.perf_counter()

    end = task.first_step + task.steps
    for start in range(task.first_step, end, task.batch_size):
        now = int(time.time() * 1000)
        metrics = [
            Metric(task.key, history_value(step), now, step)
            for step in range(start, min(start + task.batch_size, end))
        ]
        try:
            client.log_batch(task.run_id, metrics=metrics)
            result.done += len(metrics)
        except CallError as error:
            result.errors.append(_describe(error))

    result.seconds = time.perf_counter() - began
    return result


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"
