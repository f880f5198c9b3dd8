"""Running the scenarios on each server in turn, and the figures they give.

The servers run one at a time, each alone with the cluster, so none of
them competes with another for the two cores; the order is ours, then
FastTrackML, then stock MLflow, the slowest, then the client floor. The
floor (``bench.floor_server``) runs only the scenarios whose figures the
client bounds: ingest, the run search and the metric history.
"""

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from bench import (
    clients,
    report,
    search_scenarios,
    servers,
    transfer_scenarios,
    workload,
)
from bench.ceiling import COPY_DATABASE, copy_ceiling
from bench.cluster import Cluster
from bench.lag import LagSampler, summarise
from bench.profile import HotSpots, hot_spots, profiling
from bench.restore import restore_scenario
from bench.sampler import Sampler, Tree
from bench.server_log import barrier_figures
from bench.servers import FASTTRACK, FLOOR, OURS, STOCK, Server, ServerFailed
from bench.workload import Figures, Sizes, Target
from tracker.embedded.seaweed import EmbeddedS3
from tracker.tenancy.names import tenant_database

log = structlog.get_logger("bench")

POSTGRES = "postgres"
ARTIFACT_STORE = "s3"
CLIENTS = "clients"
RESTORE = "restore"
# Paging through every run of a larger experiment takes stock MLflow minutes
# of offset pages (1,000 of them at 100,000 runs); the filtered search is
# still paged to its end at any size.
PAGE_THROUGH_ALL_MAX = 10_000


@dataclass
class Run:
    """Everything one bench run shares between its servers."""

    sizes: Sizes
    scratch: Path
    results: Path
    stamp: str
    our_bin: Path
    peer_bin: Path
    profile: bool
    cluster: Cluster
    pool: Any
    sampler: Sampler
    artifact: tuple[Path, str] | None = None
    # The pool's processes and this one: the client side's CPU.
    client_pids: tuple[int, ...] = ()
    figures: dict[str, dict[str, float | None]] = field(default_factory=dict)
    usage: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    profiles: dict[str, HotSpots] = field(default_factory=dict)


def run_all(run: Run, chosen: list[str]) -> dict[str, float]:
    postgres = run.cluster.params
    assert postgres is not None
    run.cluster.create_database(servers.STOCK_DATABASE)
    run.cluster.create_database(servers.FASTTRACK_DATABASE)
    if OURS in chosen or STOCK in chosen:
        path = run.scratch / "bench-artifact.bin"
        run.artifact = (
            path,
            transfer_scenarios.make_artifact(path, run.sizes.artifact_mib),
        )

    order = [name for name in (OURS, FASTTRACK, STOCK, FLOOR) if name in chosen]
    for name in order:
        log.info("server_start", server=name)
        try:
            _bench_server(run, name)
        # What ends one server's run: it died, or a call outside a scenario
        # (its tenant, an experiment to hold a scenario) failed.
        except (
            ServerFailed,
            subprocess.CalledProcessError,
            *clients.CallError,
        ) as error:
            run.errors.setdefault(name, {}).setdefault("server", []).append(str(error))
            log.error("server_failed", server=name, error=str(error))

    if OURS in chosen and run.sizes.restore_events:
        _bench_restore(run)

    log.info("copy_ceiling")
    run.cluster.create_database(COPY_DATABASE)
    run.sampler.watch(Tree(POSTGRES, (run.cluster.postmaster_pid,)))
    points = (
        run.sizes.ingest_many
        * max(1, run.sizes.ingest_batches // run.sizes.ingest_many)
        * clients.METRIC_KEYS
        * clients.STEPS_PER_BATCH
    )
    ceiling = copy_ceiling(
        run.cluster.url(COPY_DATABASE), points, run.sizes.copy_connections
    )
    for name, figures in run.figures.items():
        _cpu_per_work(run, name, figures)
        achieved = figures.get("ingest_many.points_per_s")
        if achieved is not None:
            share = 100 * achieved / ceiling["ceiling_points_per_s"]
            figures["ingest_many.share_of_ceiling_pct"] = share

    return ceiling


def _bench_server(run: Run, name: str) -> None:
    server = _build(run, name)
    if name == OURS:
        servers.create_bench_tenant(run.our_bin, run.cluster.url())
    try:
        server.start()
    except ServerFailed:
        server.stop()
        raise
    target = _target(run, server)
    figures = run.figures.setdefault(name, {})
    lag = (
        LagSampler(run.cluster.url(tenant_database(servers.BENCH_TENANT)))
        if name == OURS
        else None
    )

    our_log = server.log_path if name == OURS else None
    floor = name == FLOOR

    def step(scenario: str, call: Callable[[], Figures | None]) -> Figures:
        log.info("scenario", server=name, scenario=scenario)
        try:
            result = call() or {}
        # A failing scenario costs its own figures, not the rest of the run.
        except Exception as error:
            log.error(
                "scenario_failed", server=name, scenario=scenario, error=repr(error)
            )
            target.note_errors(scenario, [repr(error)])
            if server.process is not None and server.process.poll() is not None:
                raise ServerFailed(f"{name} exited during {scenario}") from error
            return {}
        figures.update(report.flatten(scenario, result))
        return result

    try:
        if not floor:
            step("idle", lambda: workload.idle(target))
        step("warm_up", lambda: workload.warm_up(target, set(run.client_pids[1:])))
        if name == OURS:
            step("barrier", lambda: workload.barrier_idle(target))
        few = step(
            "ingest_few",
            lambda: _with_lag(
                lag, figures, "lag_few", target, run.sizes.ingest_few, our_log
            ),
        )
        many = step(
            "ingest_many",
            lambda: _with_lag(
                lag, figures, "lag_many", target, run.sizes.ingest_many, our_log
            ),
        )
        _barrier_under_load(figures, many)
        if not floor:
            step("single", lambda: workload.single_calls(target))
        search_experiment = target.client.create_experiment("bench-search")
        step(
            "search_setup",
            lambda: search_scenarios.search_setup(
                target, search_experiment, 0, run.sizes.search_runs, "search_setup"
            ),
        )
        searched = step(
            "search",
            lambda: search_scenarios.search_queries(
                target,
                search_experiment,
                run.sizes.search_runs,
                run.sizes.search_runs // 10,
                "search",
                page_through_all=run.sizes.search_runs <= PAGE_THROUGH_ALL_MAX,
            ),
        )
        step("history", lambda: transfer_scenarios.history(target))
        if floor:
            return
        step("experiments", lambda: search_scenarios.experiments(target))
        # --growth-factor 1 leaves growth out, as for a run at the full
        # 100,000 search runs, which could not grow tenfold in a session.
        if few and searched and run.sizes.growth_factor > 1:
            before = {**few, **searched}
            step(
                "growth",
                lambda: search_scenarios.growth(target, search_experiment, before),
            )
        if name == STOCK and run.artifact is not None:
            file, digest = run.artifact
            step(
                "artifacts",
                lambda: transfer_scenarios.artifacts(target, file, digest, run.scratch),
            )
    finally:
        server.stop()
        run.usage[name] = target.usage
        run.errors.setdefault(name, {}).update(target.errors)

    if name == OURS and run.artifact is not None:
        step("artifacts", lambda: _our_artifacts(run, target))
        run.usage[name] = target.usage


def _bench_restore(run: Run) -> None:
    log.info("scenario", server=OURS, scenario=RESTORE)
    try:
        result = restore_scenario(
            run.our_bin, run.cluster.url(), run.sizes.restore_events
        )
    # Like any scenario's failure, it costs only its own figures.
    except Exception as error:
        log.error("scenario_failed", server=OURS, scenario=RESTORE, error=repr(error))
        run.errors.setdefault(OURS, {}).setdefault(RESTORE, []).append(repr(error))
        return
    run.figures.setdefault(OURS, {}).update(report.flatten(RESTORE, result))


def _with_lag(
    lag: LagSampler | None,
    figures: dict[str, float | None],
    scenario: str,
    target: Target,
    clients_count: int,
    server_log: Path | None = None,
) -> Figures:
    window = "ingest_few" if scenario == "lag_few" else "ingest_many"
    if lag is None:
        return workload.ingest(target, clients_count, window)

    lag.readings = []
    lag.start()
    began = time.time()
    try:
        result = workload.ingest(target, clients_count, window)
    finally:
        readings = lag.stop()
    ended = time.time()
    figures.update(report.flatten(scenario, summarise(readings)))
    if server_log is not None:
        waits = barrier_figures(server_log, began, ended)
        figures.update(report.flatten(f"{scenario}_barrier", waits))

    return result


def _cpu_per_work(run: Run, name: str, figures: dict[str, float | None]) -> None:
    """CPU per unit of work: the figures least bent by a busy machine."""
    sizes = run.sizes
    searches = 2 * sizes.search_repeats + sum(
        figures.get(f"search.{pages}") or 0 for pages in ("filtered_pages", "all_pages")
    )
    units = {
        "ingest_few": (figures.get("ingest_few.points"), 1000),
        "ingest_many": (figures.get("ingest_many.points"), 1000),
        "single": (3.0 * sizes.single_calls, 1),
        "search": (searches, 1),
        "history_fetch": (float(sizes.history_fetches), 1),
    }
    windows = run.usage.get(name, {})
    for window, (count, per) in units.items():
        measured = windows.get(window)
        if not count or measured is None:
            continue
        cpu = measured["cpu_seconds"]
        assert isinstance(cpu, dict)
        for tree, label in ((name, "server"), (POSTGRES, "pg")):
            if tree in cpu:
                figures[f"{window}.{label}_cpu_ms_per_unit"] = (
                    1000 * cpu[tree] / (count / per)
                )


def _barrier_under_load(figures: dict[str, float | None], many: Figures) -> None:
    idle_get = figures.get("barrier.idle_get_p50_ms")
    if idle_get is None or not many:
        return
    for quantile in ("p50", "p99"):
        under_load = many.get(f"read_after_write_{quantile}_ms")
        if under_load is not None:
            figures[f"barrier.load_extra_{quantile}_ms"] = under_load - idle_get


def _our_artifacts(run: Run, previous: Target) -> Figures:
    assert run.artifact is not None
    store = EmbeddedS3(run.scratch / "s3")
    endpoint = store.start()
    server = servers.calabi(run.our_bin, run.cluster.url(), run.scratch, endpoint)
    try:
        server.start()
        target = _target(run, server, usage=previous.usage, errors=previous.errors)
        store_pid = int(store.pid_file.read_text().strip())
        run.sampler.watch(
            *_trees(run, server),
            Tree(ARTIFACT_STORE, (store_pid,)),
        )
        return transfer_scenarios.artifacts(target, *run.artifact, run.scratch)
    finally:
        server.stop()
        store.stop()


def _build(run: Run, name: str) -> Server:
    postgres = run.cluster.params
    assert postgres is not None
    if name == OURS:
        return servers.calabi(run.our_bin, run.cluster.url(), run.scratch)
    if name == STOCK:
        return servers.stock_mlflow(run.peer_bin, postgres.port, run.scratch)
    if name == FLOOR:
        return servers.floor(run.our_bin, run.scratch)
    return servers.fasttrackml(run.peer_bin, postgres.port, run.scratch)


_DATABASES = {
    OURS: tenant_database(servers.BENCH_TENANT),
    STOCK: servers.STOCK_DATABASE,
    FASTTRACK: servers.FASTTRACK_DATABASE,
}


def _target(
    run: Run,
    server: Server,
    usage: dict[str, dict[str, object]] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Target:
    target = Target(
        name=server.name,
        tracking_uri=server.tracking_uri,
        pool=run.pool,
        sizes=run.sizes,
        sampler=run.sampler,
        usage=usage if usage is not None else {},
        errors=errors if errors is not None else {},
    )
    run.sampler.watch(*_trees(run, server))
    database = _DATABASES.get(server.name)
    if database is not None:
        target.settle = lambda: run.cluster.settle(database)
    if run.profile and server.name == OURS:
        py_spy = run.peer_bin / "py-spy"
        for window in ("ingest_many", "search"):
            output = run.results / f"{run.stamp}-profile-{window}.txt"
            target.around[window] = _profiler(run, py_spy, server.pid, output, window)

    return target


def _trees(run: Run, server: Server) -> list[Tree]:
    return [
        Tree(server.name, (server.pid,), server.exclude),
        Tree(POSTGRES, (run.cluster.postmaster_pid,)),
        # The bench process is also the servers' parent: count it alone.
        Tree(CLIENTS, run.client_pids, descend=False),
    ]


def _profiler(
    run: Run, py_spy: Path, pid: int, output: Path, window: str
) -> Callable[[], AbstractContextManager[None]]:
    @contextmanager
    def recording() -> Iterator[None]:
        output.parent.mkdir(parents=True, exist_ok=True)
        with profiling(py_spy, pid, output):
            yield
        if output.is_file():
            run.profiles[window] = hot_spots(output)

    return recording


# Reporting ----------------------------------------------------------------------
