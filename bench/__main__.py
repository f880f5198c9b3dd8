"""``python -m bench``: every scenario on every server, one table, one JSON.

The servers run one at a time, each alone with the cluster, so none of
them competes with another for the two cores; the order is ours, then
FastTrackML, then stock MLflow, the slowest last.
"""

import argparse
import dataclasses
import datetime
import importlib.metadata
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
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
from bench.servers import FASTTRACK, OURS, STOCK, Server, ServerFailed
from bench.workload import Figures, Sizes, Target
from tracker.embedded.seaweed import EmbeddedS3
from tracker.tenancy.names import tenant_database

log = structlog.get_logger("bench")

POSTGRES = "postgres"
ARTIFACT_STORE = "s3"
CLIENTS = "clients"
RESTORE = "restore"


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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    os.environ.update(clients.client_environment())
    sizes = _sizes(args)
    if args.only == RESTORE:
        return _restore_only(args, sizes)
    chosen = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(chosen) - set(servers.SERVERS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))}")

    began = time.perf_counter()
    started = datetime.datetime.now(datetime.UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    scratch = (args.scratch / stamp).absolute()
    scratch.mkdir(parents=True)

    context = multiprocessing.get_context("forkserver")
    # Each client process imports mlflow once, in the fork server.
    context.set_forkserver_preload(["bench.clients"])
    pool_size = max(sizes.ingest_many, sizes.ingest_few, sizes.setup_clients)
    cluster = Cluster(scratch)
    sampler = Sampler()
    with context.Pool(pool_size) as pool:
        workers = pool.map(clients.warm_up, [0.3] * pool_size, chunksize=1)
        run = Run(
            sizes=sizes,
            scratch=scratch,
            results=args.results,
            stamp=stamp,
            our_bin=Path(sys.executable).parent,
            peer_bin=args.peer_venv.absolute() / "bin",
            profile=args.profile,
            cluster=cluster,
            pool=pool,
            sampler=sampler,
            client_pids=(os.getpid(), *sorted(set(workers))),
        )
        cluster.start()
        versions = _versions(run)
        sampler.start()
        try:
            ceiling = _run_all(run, chosen)
        finally:
            sampler.stop()
            cluster.stop()

    wall = time.perf_counter() - began
    document = _document(run, chosen, ceiling, versions, started, wall)
    json_path = args.results / f"{stamp}.json"
    report.write_json(json_path, document)
    print(_summary(run, chosen, document, json_path, wall))

    if not args.keep_data:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _run_all(run: Run, chosen: list[str]) -> dict[str, float]:
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

    order = [name for name in (OURS, FASTTRACK, STOCK) if name in chosen]
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
                page_through_all=True,
            ),
        )
        step("history", lambda: transfer_scenarios.history(target))
        step("experiments", lambda: search_scenarios.experiments(target))
        if few and searched:
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


def _restore_only(args: argparse.Namespace, sizes: Sizes) -> int:
    """``--only restore``: the rebuild and restore scenario alone, no servers."""
    began = time.perf_counter()
    started = datetime.datetime.now(datetime.UTC)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    scratch = (args.scratch / stamp).absolute()
    scratch.mkdir(parents=True)

    cluster = Cluster(scratch)
    cluster.start()
    try:
        result = restore_scenario(
            Path(sys.executable).parent, cluster.url(), sizes.restore_events
        )
        postgres_version = cluster.version()
    finally:
        cluster.stop()

    wall = time.perf_counter() - began
    figures = {OURS: dict(report.flatten(RESTORE, result))}
    versions = {
        "calabi": importlib.metadata.version("calabi-tracker"),
        "postgresql": postgres_version,
        "python": platform.python_version(),
    }
    document = {
        "started": started.isoformat(),
        "wall_s": wall,
        "machine": _machine(),
        "versions": versions,
        "sizes": dataclasses.asdict(sizes),
        "servers": [OURS],
        "figures": figures,
    }
    json_path = args.results / f"{stamp}.json"
    report.write_json(json_path, document)
    layout = {
        section: rows
        for section, rows in report.FIXED_SECTIONS.items()
        if section.startswith(RESTORE)
    }
    lines = [
        f"machine: {document['machine']}",
        f"versions: {versions}",
        f"restore events: {sizes.restore_events:,}",
        "",
        report.table([OURS], figures, layout),
        "",
        f"raw figures: {json_path}",
        f"wall time: {wall:.0f} s",
    ]
    print("\n".join(lines))

    if not args.keep_data:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


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
    return servers.fasttrackml(run.peer_bin, postgres.port, run.scratch)


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


def _document(
    run: Run,
    chosen: list[str],
    ceiling: dict[str, float],
    versions: dict[str, str],
    started: datetime.datetime,
    wall: float,
) -> dict[str, object]:
    return {
        "started": started.isoformat(),
        "wall_s": wall,
        "machine": _machine(),
        "versions": versions,
        "sizes": dataclasses.asdict(run.sizes),
        "servers": chosen,
        "figures": run.figures,
        "copy_ceiling": ceiling,
        "usage": run.usage,
        "errors": run.errors,
        "profiles": {
            window: dataclasses.asdict(spots) for window, spots in run.profiles.items()
        },
    }


def _summary(
    run: Run,
    chosen: list[str],
    document: dict[str, object],
    json_path: Path,
    wall: float,
) -> str:
    columns = [name for name in (OURS, STOCK, FASTTRACK) if name in chosen]
    figures = {name: dict(run.figures.get(name, {})) for name in columns}
    for name, values in report.resource_rows(run.usage).items():
        if name in figures:
            figures[name].update(values)
    layout = report.sections(run.sizes.ingest_few, run.sizes.ingest_many)
    ceiling = document["copy_ceiling"]
    assert isinstance(ceiling, dict)

    lines = [
        f"machine: {document['machine']}",
        f"versions: {document['versions']}",
        f"sizes: {document['sizes']}",
        f"COPY ceiling: {ceiling['ceiling_points_per_s']:,.0f} points/s "
        f"({ceiling['batched_points_per_s']:,.0f} in 1,000-row COPYs over "
        f"{run.sizes.copy_connections} connections, "
        f"{ceiling['single_copy_points_per_s']:,.0f} in one COPY)",
        "ratios: above 1x means calabi is better (faster, smaller, more per second)",
        "",
        report.table(columns, figures, layout),
        "",
    ]
    for server, scenarios in run.errors.items():
        for scenario, errors in scenarios.items():
            if errors:
                lines.append(f"errors {server}/{scenario} ({len(errors)}): {errors[0]}")
    for window, spots in run.profiles.items():
        lines.append(f"profile of calabi during {window} ({spots.samples} samples):")
        lines += [f"  own   {share:6.1%}  {frame}" for frame, share in spots.own[:12]]
        lines += [f"  total {share:6.1%}  {frame}" for frame, share in spots.total[:12]]
    lines.append(f"raw figures: {json_path}")
    lines.append(f"wall time: {wall:.0f} s")

    return "\n".join(lines)


def _machine() -> dict[str, object]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        memory_kib = int(info.readline().split()[1])

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average": os.getloadavg(),
    }


def _versions(run: Run) -> dict[str, str]:
    def output(command: list[str]) -> str:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=120, check=False
            )
        except OSError as error:
            return f"unavailable ({error})"
        return (done.stdout or done.stderr).strip().splitlines()[-1]

    return {
        "calabi": importlib.metadata.version("calabi-tracker"),
        "client mlflow-skinny": importlib.metadata.version("mlflow-skinny"),
        "stock mlflow": output(
            [
                str(run.peer_bin / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('mlflow'))",
            ]
        ),
        "fasttrackml": output([str(run.peer_bin / "fml"), "--version"]),
        "postgresql": run.cluster.version(),
        "python": platform.python_version(),
    }


# Flags --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    defaults = Sizes()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark Calabi against stock MLflow and FastTrackML.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--servers", default=",".join(servers.SERVERS))
    parser.add_argument("--peer-venv", type=Path, default=Path(".venv-bench"))
    parser.add_argument("--scratch", type=Path, default=Path(".data/bench"))
    parser.add_argument("--results", type=Path, default=Path("bench-results"))
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument(
        "--only",
        choices=[RESTORE],
        help="run one scenario alone: restore needs no server and no peer venv",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record our server with py-spy during ingest and search",
    )
    helps = {
        "ingest_batches": "log-batch calls per ingest phase, split among clients",
        "search_runs": "runs in the search experiment before growth",
        "history_points": "points of the one metric of the history scenario",
        "experiments": "experiments for search_experiments",
        "growth_factor": "how many times the search experiment grows",
        "artifact_mib": "size of the artifact uploaded and downloaded",
        "setup_clients": "client processes that create the data sets",
        "restore_events": "events in the log rebuilt and restored (0 skips it)",
    }
    for size in dataclasses.fields(Sizes):
        parser.add_argument(
            "--" + size.name.replace("_", "-"),
            type=int,
            default=getattr(defaults, size.name),
            help=helps.get(size.name),
        )

    return parser


def _sizes(args: argparse.Namespace) -> Sizes:
    return Sizes(
        **{size.name: getattr(args, size.name) for size in dataclasses.fields(Sizes)}
    )


if __name__ == "__main__":
    sys.exit(main())
