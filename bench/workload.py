"""The scenarios, each driven through the stock ``mlflow`` client over HTTP.

A scenario returns its figures as a flat mapping; None means the server
lacks what the scenario needs (FastTrackML has no bulk-interval history and
no artifact upload). Every stretch of work runs in a named sampler window,
so the memory and CPU it cost are reported next to its figures.
"""

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, TypeVar

from mlflow.tracking import MlflowClient
from mlflow.utils.rest_utils import MlflowHostCreds, http_request

from bench import clients as c
from bench.sampler import Sampler, Usage
from bench.stats import latency_summary, percentile, rate

Value = float | None
Figures = dict[str, Value]

# Search runs start at this fixed time (ms), one millisecond apart, so the
# start_time filter means the same thing on every server and every run.
SEARCH_BASE_TIME = 1_700_000_000_000
WARM_UP_ROUNDS = 4
BULK_INTERVAL_POINTS = 320
HISTORY_KEY = "loss"
HISTORY_BATCH = 1000
EXPERIMENT_PREFIX = "bench-exp"
BARRIER_PROBES = 50

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each scenario does; every one is a command-line flag."""

    ingest_few: int = 4
    ingest_many: int = 16
    ingest_batches: int = 64
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

    def __post_init__(self) -> None:
        self.client = MlflowClient(self.tracking_uri)

    @contextmanager
    def window(self, name: str) -> Iterator[Usage]:
        """Sample the server's tree while the body runs, as window ``name``."""
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


# Search runs --------------------------------------------------------------------


def search_setup(
    target: Target,
    experiment_id: str,
    first: int,
    count: int,
    window: str,
    base_time: int = SEARCH_BASE_TIME,
) -> Figures:
    """Create search runs ``first`` .. ``first + count - 1`` with the setup pool.

    Run ``i`` starts at ``base_time + i`` ms.
    """
    shares = _split(first, count, target.sizes.setup_clients)
    tasks = [
        c.SearchRunsTask(
            tracking_uri=target.tracking_uri,
            experiment_id=experiment_id,
            first=start,
            count=size,
            base_time=base_time,
        )
        for start, size in shares
    ]

    with target.window(window) as usage:
        logs = target.pool.map(c.create_search_runs, tasks, chunksize=1)

    errors = [error for log in logs for error in log.errors]
    target.note_errors(window, errors)

    return {
        "runs_per_s": rate(sum(log.done for log in logs), usage.seconds),
        "errors": float(len(errors)),
    }


def search_filter(threshold_index: int) -> str:
    """Metric, param, tag and attribute conditions, ANDed as MLflow allows."""
    return (
        "metrics.m0 > 0.5 and params.p1 = 'x' and tags.t1 = 'a'"
        f" and attributes.start_time >= {SEARCH_BASE_TIME + threshold_index}"
    )


def expected_filtered(runs: int, threshold_index: int) -> list[str]:
    """Names of the runs the filter matches, in ``metrics.m0 DESC`` order."""
    matches = [
        index
        for index in range(threshold_index, runs)
        if c.search_metric(index) > 0.5
        and c.search_param(index) == "x"
        and c.search_tag(index) == "a"
    ]
    matches.sort(key=c.search_metric, reverse=True)

    return [f"search-{index:07d}" for index in matches]


def search_queries(
    target: Target,
    experiment_id: str,
    runs: int,
    threshold_index: int,
    window: str,
    *,
    page_through_all: bool,
    filtered_runs: int | None = None,
) -> Figures:
    """Filtered and ordered first pages, repeated; then paging to the end.

    Args:
        runs: How many search runs the experiment holds.
        filtered_runs: How many of them, from run 0 on, start late enough
            for the filter's start_time bound; all of them by default.
    """
    client = target.client
    sizes = target.sizes
    query = search_filter(threshold_index)
    by_metric = ["metrics.m0 DESC"]
    expected = expected_filtered(filtered_runs or runs, threshold_index)
    expected_top = [f"search-{i:07d}" for i in _top_by_metric(runs, sizes.page_size)]

    def first_page(filter_string: str, order_by: list[str] | None) -> list[str]:
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=sizes.page_size,
        )
        return [run.info.run_name for run in page]

    figures: Figures = {}
    with target.window(window):
        filtered, names = _timed(
            sizes.search_repeats, lambda: first_page(query, by_metric)
        )
        figures |= latency_summary("filtered_first_page", filtered)
        correct = names == expected[: sizes.page_size]

        ordered, names = _timed(sizes.search_repeats, lambda: first_page("", by_metric))
        figures |= latency_summary("ordered_first_page", ordered)
        correct = correct and names == expected_top

        pages, names, seconds = _page_to_end(
            client, experiment_id, query, by_metric, sizes.page_size
        )
        figures |= latency_summary("filtered_page", pages)
        figures["filtered_pages"] = float(len(pages))
        figures["filtered_paging_s"] = seconds
        correct = correct and names == expected

        if page_through_all:
            pages, names, seconds = _page_to_end(
                client, experiment_id, "", None, sizes.page_size
            )
            figures |= latency_summary("all_page", pages)
            figures["all_pages"] = float(len(pages))
            figures["all_paging_s"] = seconds
            correct = correct and len(set(names)) == runs

    figures["matches"] = float(len(expected))
    figures["correct"] = 1.0 if correct else 0.0
    return figures


def _top_by_metric(runs: int, count: int) -> list[int]:
    return sorted(range(runs), key=c.search_metric, reverse=True)[:count]


def _page_to_end(
    client: MlflowClient,
    experiment_id: str,
    filter_string: str,
    order_by: list[str] | None,
    page_size: int,
) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    names: list[str] = []
    token: str | None = None
    began = time.perf_counter()
    while True:
        start = time.perf_counter()
        page = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            max_results=page_size,
            page_token=token,
        )
        latencies.append((time.perf_counter() - start) * 1000)
        names += [run.info.run_name for run in page]
        token = page.token
        if not token:
            break

    return latencies, names, time.perf_counter() - began


# Metric history -----------------------------------------------------------------


def history(target: Target) -> Figures:
    """One metric of many points: logged, fetched whole, sampled as the UI does."""
    client = target.client
    sizes = target.sizes
    experiment_id = client.create_experiment("bench-history")
    run_id = client.create_run(experiment_id).info.run_id
    tasks = [
        c.HistoryTask(
            tracking_uri=target.tracking_uri,
            run_id=run_id,
            key=HISTORY_KEY,
            first_step=first,
            steps=count,
            batch_size=HISTORY_BATCH,
        )
        for first, count in _split(0, sizes.history_points, sizes.setup_clients)
    ]

    with target.window("history_log") as usage:
        logs = target.pool.map(c.log_history, tasks, chunksize=1)
    logged = sum(log.done for log in logs)
    target.note_errors("history_log", [e for log in logs for e in log.errors])
    figures: Figures = {"log_points_per_s": rate(logged, usage.seconds)}

    with target.window("history_fetch") as usage:
        fetches, points = _timed(
            sizes.history_fetches,
            lambda: client.get_metric_history(run_id, HISTORY_KEY),
        )
    fetch_s = percentile(fetches, 0.5)
    steps = {point.step for point in points}
    figures |= {
        "fetch_p50_s": fetch_s / 1000 if fetch_s is not None else None,
        "fetched_points_per_s": rate(len(points), (fetch_s or 0) / 1000),
        "fetch_rss_growth_mib": _growth(usage, target.name),
        "fetch_correct": 1.0 if len(steps) == logged == len(points) else 0.0,
    }

    return figures | bulk_interval(target, run_id)


def bulk_interval(target: Target, run_id: str) -> Figures:
    """get-history-bulk-interval with the UI's max_results; None if missing."""
    # The client's own HTTP layer; MlflowClient has no method for this call.
    creds = MlflowHostCreds(host=target.tracking_uri)  # type: ignore[no-untyped-call]
    params = {
        "run_ids": [run_id],
        "metric_key": HISTORY_KEY,
        "max_results": BULK_INTERVAL_POINTS,
    }

    def call() -> tuple[int, int]:
        response = http_request(  # type: ignore[no-untyped-call]
            creds,
            "/api/2.0/mlflow/metrics/get-history-bulk-interval",
            "GET",
            params=params,
            max_retries=0,
        )
        if response.status_code != 200:
            return response.status_code, 0
        return 200, len(response.json().get("metrics", []))

    status, _ = call()
    if status != 200:
        target.note_errors("history_bulk", [f"HTTP {status}: endpoint not served"])
        return {"bulk_p50_ms": None, "bulk_p99_ms": None, "bulk_correct": None}

    with target.window("history_bulk"):
        latencies, (_, returned) = _timed(target.sizes.bulk_repeats, call)

    return {
        **latency_summary("bulk", latencies),
        "bulk_correct": 1.0 if 0 < returned <= BULK_INTERVAL_POINTS else 0.0,
    }


# Experiments --------------------------------------------------------------------


def experiments(target: Target) -> Figures:
    """search_experiments by name pattern, by tag and by both."""
    client = target.client
    sizes = target.sizes
    count = sizes.experiments
    tasks = [
        c.ExperimentsTask(
            tracking_uri=target.tracking_uri,
            prefix=EXPERIMENT_PREFIX,
            first=first,
            count=size,
        )
        for first, size in _split(0, count, sizes.setup_clients)
    ]
    with target.window("experiments_setup") as usage:
        logs = target.pool.map(c.create_experiments, tasks, chunksize=1)
    target.note_errors("experiments_setup", [e for log in logs for e in log.errors])
    figures: Figures = {
        "created_per_s": rate(sum(log.done for log in logs), usage.seconds)
    }

    pattern = f"{EXPERIMENT_PREFIX}-0001%"
    queries = {
        "name_like": f"name LIKE '{pattern}'",
        "tag": "tags.team = 'team-3'",
        "name_like_and_tag": f"name LIKE '{pattern}' and tags.team = 'team-3'",
    }
    in_pattern = [i for i in range(count) if f"{i:06d}".startswith("0001")]
    expected = {
        "name_like": min(sizes.page_size, len(in_pattern)),
        "tag": min(sizes.page_size, len(range(3, count, 10))),
        "name_like_and_tag": len([i for i in in_pattern if i % 10 == 3]),
    }

    correct = True
    with target.window("experiments"):
        for name, query in queries.items():

            def search(query: str = query) -> int:
                found = client.search_experiments(
                    filter_string=query, max_results=sizes.page_size
                )
                return len(found)

            latencies, found = _timed(sizes.experiment_repeats, search)
            figures |= latency_summary(name, latencies)
            correct = correct and found == expected[name]

        began = time.perf_counter()
        names = _all_experiment_names(client, sizes.page_size)
        figures["paging_all_s"] = time.perf_counter() - began
        correct = correct and len(names) == count

    figures["correct"] = 1.0 if correct else 0.0
    return figures


def _all_experiment_names(client: MlflowClient, page_size: int) -> list[str]:
    names: list[str] = []
    token: str | None = None
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{EXPERIMENT_PREFIX}-%'",
            max_results=page_size,
            page_token=token,
        )
        names += [experiment.name for experiment in page]
        token = page.token
        if not token:
            return names


# Growth -------------------------------------------------------------------------


def growth(
    target: Target,
    search_experiment: str,
    before: Figures,
) -> Figures:
    """Grow the search experiment by the factor, then ingest and search again.

    Args:
        target: The server.
        search_experiment: The experiment of the search scenario.
        before: The figures measured before the growth: ``points_per_s`` of
            the ingest with the fewer clients, and the search's
            ``filtered_first_page_p50_ms`` and ``ordered_first_page_p50_ms``.
    """
    sizes = target.sizes
    base = sizes.search_runs
    grown = base * sizes.growth_factor
    # The added runs are older history: they start before run 0, so the
    # filtered search has the same answer as before and its figure shows
    # what the added data costs, not what a longer answer costs.  The
    # ordered search still ranks every run.
    setup = search_setup(
        target,
        search_experiment,
        base,
        grown - base,
        window="growth_setup",
        base_time=SEARCH_BASE_TIME - grown,
    )
    after_ingest = ingest(target, sizes.ingest_few, window="growth_ingest")
    after_search = search_queries(
        target,
        search_experiment,
        grown,
        base // 10,
        window="growth_search",
        page_through_all=False,
        filtered_runs=base,
    )
    filtered = after_search["filtered_first_page_p50_ms"]
    ordered = after_search["ordered_first_page_p50_ms"]

    return {
        "setup_runs_per_s": setup["runs_per_s"],
        "runs_after": float(grown),
        "ingest_points_per_s_after": after_ingest["points_per_s"],
        "ingest_slowdown": _ratio(before["points_per_s"], after_ingest["points_per_s"]),
        "filtered_p50_ms_after": filtered,
        "filtered_slowdown": _ratio(filtered, before["filtered_first_page_p50_ms"]),
        "ordered_p50_ms_after": ordered,
        "ordered_slowdown": _ratio(ordered, before["ordered_first_page_p50_ms"]),
        "filtered_paging_s_after": after_search["filtered_paging_s"],
        "correct_after": after_search["correct"],
    }


# Artifacts ----------------------------------------------------------------------


def make_artifact(path: Path, mib: int) -> str:
    """Write ``mib`` MiB of random bytes to ``path``; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(mib):
            # Random bytes, so that no layer on the way can compress them.
            data = os.urandom(1024 * 1024)
            digest.update(data)
            out.write(data)

    return digest.hexdigest()


def artifacts(target: Target, file: Path, sha256: str, scratch: Path) -> Figures:
    """Upload ``file`` through the server, download it, and check it."""
    client = target.client
    experiment_id = client.create_experiment("bench-artifacts")
    run_id = client.create_run(experiment_id).info.run_id
    mib = file.stat().st_size / (1024 * 1024)
    destination = scratch / f"download-{target.name}"
    destination.mkdir(parents=True, exist_ok=True)

    with target.window("artifacts_upload") as upload:
        client.log_artifact(run_id, str(file))
    with target.window("artifacts_download") as download:
        local = client.download_artifacts(run_id, file.name, str(destination))

    return {
        "upload_mib_per_s": rate(mib, upload.seconds),
        "download_mib_per_s": rate(mib, download.seconds),
        "upload_rss_growth_mib": _growth(upload, target.name),
        "download_rss_growth_mib": _growth(download, target.name),
        "correct": 1.0 if _sha256(Path(local)) == sha256 else 0.0,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# Helpers ------------------------------------------------------------------------


def _timed(times: int, call: Callable[[], T]) -> tuple[list[float], T]:
    latencies: list[float] = []
    result: T
    for _ in range(times):
        began = time.perf_counter()
        result = call()
        latencies.append((time.perf_counter() - began) * 1000)

    return latencies, result


def _split(first: int, count: int, parts: int) -> list[tuple[int, int]]:
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


def _growth(usage: Usage, name: str) -> Value:
    if name not in usage.peak_rss_mib:
        return None
    return usage.peak_rss_mib[name] - usage.start_rss_mib[name]


def _ratio(numerator: Value, denominator: Value) -> Value:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
