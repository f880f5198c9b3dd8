"""``python -m bench``: every scenario on every server, one table, one JSON.

How the scenarios run is in ``bench.runner``; this module reads the
command line and assembles the report.
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
from collections.abc import Sequence
from pathlib import Path

import structlog

from bench import clients, report, servers
from bench.cluster import Cluster
from bench.restore import restore_scenario
from bench.runner import RESTORE, Run, run_all
from bench.sampler import Sampler
from bench.servers import FASTTRACK, FLOOR, OURS, STOCK
from bench.workload import Sizes

log = structlog.get_logger("bench")


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
            ceiling = run_all(run, chosen)
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
        "floor_bounds": report.floor_bounds(run.figures),
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
    columns = [name for name in (OURS, STOCK, FASTTRACK, FLOOR) if name in chosen]
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
        *_floor_legend(chosen),
        "",
        report.table(columns, figures, layout),
        "",
        *_floor_lines(report.floor_bounds(run.figures)),
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


def _floor_legend(chosen: list[str]) -> list[str]:
    if FLOOR not in chosen:
        return []
    return [
        "client floor: a stand-in server that does almost nothing, driven by the "
        "same client code;",
        f"  '{report.FLOOR_RATIO}' is the best ratio to stock any server could "
        "show through this client here",
    ]


def _floor_lines(bounds: dict[str, dict[str, float | None]]) -> list[str]:
    """Per target figure: the floor, its ratio to stock, and our share of it."""
    lines: list[str] = []
    for key, bound in bounds.items():
        line = f"{key}: client floor {report.format_value(bound['floor'], None)}"
        against = bound["floor_vs_stock"]
        if against is not None:
            target = bound["target_vs_stock"]
            line += f" = {against:.1f}x stock (target {target:.0f}x)"
        share = bound["calabi_share_of_floor"]
        if share is not None:
            line += f"; calabi reaches {share:.0%} of it"
        lines.append(line)

    return [*lines, ""] if lines else []


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
