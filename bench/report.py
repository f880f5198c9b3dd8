"""The printed table and the JSON file of one bench run.

Each row is one figure of one scenario, with a column per server and, for
figures that have a better direction, our ratio to each peer, oriented so
that above 1 means Calabi is better (faster, smaller, more per second).

The client floor (``bench.floor_server``) has a column of its own, and for
the figures the client bounds, a column of its ratio to stock MLflow: the
best ratio any server could show through the same client on this machine.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.servers import FLOOR, OURS, STOCK

Better = Literal["high", "low", "yes"] | None
Value = float | None

COLUMN_NAMES = {FLOOR: "client floor"}
FLOOR_RATIO = "floor vs mlflow"
# The floor runs only the scenarios the client bounds; of their figures, a
# server's own CPU and memory say nothing of what another server could do.
_SERVER_OWN = ("cpu", "rss", "share_of")
# The targets, as ratios to stock MLflow.
FLOOR_TARGETS: dict[str, tuple[Better, float]] = {
    "ingest_few.points_per_s": ("high", 10),
    "ingest_many.points_per_s": ("high", 10),
    "search.filtered_first_page_p50_ms": ("low", 20),
    "search.ordered_first_page_p50_ms": ("low", 20),
    "history.fetch_p50_s": ("low", 10),
}


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    better: Better = None


def _latency(prefix: str, what: str) -> list[Row]:
    return [
        Row(f"{prefix}_p50_ms", f"{what} p50 ms", "low"),
        Row(f"{prefix}_p99_ms", f"{what} p99 ms", "low"),
    ]


def _cpu(window: str, unit: str) -> list[Row]:
    return [
        Row(f"{window}.server_cpu_ms_per_unit", f"server CPU ms per {unit}", "low"),
        Row(f"{window}.pg_cpu_ms_per_unit", f"PostgreSQL CPU ms per {unit}", "low"),
    ]


def _ingest(scenario: str) -> list[Row]:
    return [
        Row(f"{scenario}.points_per_s", "metric points/s", "high"),
        *_cpu(scenario, "1,000 points"),
        *_latency(f"{scenario}.acknowledged", "acknowledged write"),
        *_latency(f"{scenario}.write", "log_batch call"),
        *_latency(f"{scenario}.read_after_write", "get_run after it"),
        Row(f"{scenario}.stale_reads", "first read stale (count)"),
        Row(f"{scenario}.never_visible", "never visible in 10 s (count)"),
        Row(f"{scenario}.errors", "failed calls (count)"),
    ]


def _lag(scenario: str, load: str) -> list[Row]:
    return [
        Row(f"{scenario}.lag_events_p50", f"{load}: lag p50 events", "low"),
        Row(f"{scenario}.lag_events_p99", f"{load}: lag p99 events", "low"),
        Row(f"{scenario}.lag_ms_p50", f"{load}: lag p50 ms", "low"),
        Row(f"{scenario}.lag_ms_p99", f"{load}: lag p99 ms", "low"),
        Row(f"{scenario}.lag_ms_max", f"{load}: lag max ms", "low"),
    ]


def sections(few: int, many: int) -> dict[str, list[Row]]:
    """The table's rows by section, for ingest with ``few`` and ``many`` clients."""
    return {
        "idle": [Row("idle.rss_mib", "RSS MiB at rest", "low")],
        f"ingest x{few}": _ingest("ingest_few"),
        f"ingest x{many}": [
            *_ingest("ingest_many"),
            Row("ingest_many.share_of_ceiling_pct", "% of the COPY ceiling", "high"),
        ],
        "projection (ours)": [
            *_lag("lag_few", f"x{few}"),
            *_lag("lag_many", f"x{many}"),
            *_latency("barrier.idle_get", "idle: plain get_run"),
            *_latency("barrier.idle_get_after_write", "idle: get_run after a write"),
            *_latency("barrier.load_extra", f"x{many}: get after write - idle get"),
            *_latency("lag_few_barrier.wait", f"x{few}: barrier wait in server"),
            *_latency("lag_many_barrier.wait", f"x{many}: barrier wait in server"),
            Row("lag_many_barrier.waited_pct", f"x{many}: reads that waited %"),
        ],
        **FIXED_SECTIONS,
    }


FIXED_SECTIONS: dict[str, list[Row]] = {
    "single calls": [
        row
        for kind in ("log_metric", "log_param", "set_tag")
        for row in (
            Row(f"single.{kind}_calls_per_s", f"{kind} calls/s", "high"),
            *_latency(f"single.{kind}", kind),
        )
    ]
    + _cpu("single", "call"),
    "search_runs": [
        Row("search_setup.runs_per_s", "setup: runs created/s", "high"),
        Row("search.matches", "filtered matches (count)"),
        *_latency("search.filtered_first_page", "filtered+ordered 1st page"),
        *_latency("search.ordered_first_page", "order_by metric 1st page"),
        *_latency("search.filtered_page", "filtered paging, per page"),
        Row("search.filtered_paging_s", "filtered paging total s", "low"),
        *_cpu("search", "search call"),
        *_latency("search.all_page", "all runs paging, per page"),
        Row("search.all_paging_s", "all runs paging total s", "low"),
        Row("search.correct", "results and order right", "yes"),
    ],
    "metric history": [
        Row("history.log_points_per_s", "log: points/s", "high"),
        Row("history.fetch_p50_s", "full fetch p50 s", "low"),
        Row("history.fetched_points_per_s", "fetched points/s", "high"),
        *_cpu("history_fetch", "full fetch"),
        Row("history.fetch_rss_growth_mib", "RSS growth in fetch MiB", "low"),
        Row("history.fetch_correct", "every point back", "yes"),
        *_latency("history.bulk", "bulk-interval (320)"),
        Row("history.bulk_correct", "bulk-interval sampled", "yes"),
    ],
    "search_experiments": [
        Row("experiments.created_per_s", "setup: created/s", "high"),
        *_latency("experiments.name_like", "name LIKE"),
        *_latency("experiments.tag", "tag ="),
        *_latency("experiments.name_like_and_tag", "name LIKE and tag"),
        Row("experiments.paging_all_s", "paging all total s", "low"),
        Row("experiments.correct", "results right", "yes"),
    ],
    "growth": [
        Row("growth.runs_after", "search runs after (count)"),
        Row("growth.setup_runs_per_s", "setup: runs created/s", "high"),
        Row("growth.ingest_points_per_s_after", "ingest x4 points/s after", "high"),
        Row("growth.ingest_slowdown", "ingest slowdown (before/after)", "low"),
        Row("growth.filtered_p50_ms_after", "filtered 1st page p50 ms after", "low"),
        Row("growth.filtered_slowdown", "filtered p50 slowdown", "low"),
        Row("growth.ordered_p50_ms_after", "ordered 1st page p50 ms after", "low"),
        Row("growth.ordered_slowdown", "ordered p50 slowdown", "low"),
        Row("growth.filtered_paging_s_after", "filtered paging s after", "low"),
        Row("growth.correct_after", "results right after", "yes"),
    ],
    "restore (ours)": [
        Row("restore.events", "log events (count)"),
        Row("restore.fill_events_per_s", "fill: appended events/s", "high"),
        Row("restore.live_events_per_s", "live projection events/s", "high"),
        Row("restore.rebuild_events_per_s", "rebuild events/s", "high"),
        Row("restore.rebuild_s", "rebuild wall s", "low"),
        Row("restore.rebuild_matches", "rebuild equals live", "yes"),
        Row("restore.preview_s", "dry run to the middle s", "low"),
        Row("restore.restore_s", "restore to the middle s", "low"),
    ],
    "artifacts": [
        Row("artifacts.upload_mib_per_s", "upload MiB/s", "high"),
        Row("artifacts.download_mib_per_s", "download MiB/s", "high"),
        Row("artifacts.upload_rss_growth_mib", "RSS growth in upload MiB", "low"),
        Row("artifacts.download_rss_growth_mib", "RSS growth in download MiB", "low"),
        Row("artifacts.correct", "bytes intact", "yes"),
    ],
}

# Sampler windows whose memory and CPU are reported, in order.
WINDOWS = (
    "ingest_few",
    "ingest_many",
    "single",
    "search_setup",
    "search",
    "history_log",
    "history_fetch",
    "history_bulk",
    "experiments_setup",
    "experiments",
    "growth_setup",
    "growth_ingest",
    "growth_search",
    "artifacts_upload",
    "artifacts_download",
)


def resource_rows(
    usage: Mapping[str, Mapping[str, Mapping[str, object]]],
) -> dict[str, dict[str, Value]]:
    """Figures ``usage.<window>.*`` per server, from the sampler windows."""
    figures: dict[str, dict[str, Value]] = {}
    for server, windows in usage.items():
        flat = figures.setdefault(server, {})
        for window, measured in windows.items():
            peak = _number(measured["peak_rss_mib"], server)
            core = _number(measured["peak_core_rss_mib"], server)
            flat[f"usage.{window}.peak_rss_mib"] = peak
            flat[f"usage.{window}.peak_core_rss_mib"] = core
            flat[f"usage.{window}.cpu_s"] = _number(measured["cpu_seconds"], server)
            flat[f"usage.{window}.pg_cpu_s"] = _number(
                measured["cpu_seconds"], "postgres"
            )
            flat[f"usage.{window}.client_cpu_s"] = _number(
                measured["cpu_seconds"], "clients"
            )
            flat[f"usage.{window}.machine_cpu_s"] = _number(
                measured["cpu_seconds"], "machine"
            )
            flat[f"usage.{window}.seconds"] = _number(
                {"wall": measured["seconds"]}, "wall"
            )

    return figures


def _number(values: object, name: str) -> Value:
    if isinstance(values, Mapping):
        found = values.get(name)
        return float(found) if isinstance(found, int | float) else None
    return None


def _usage_rows(figures: Mapping[str, Mapping[str, Value]]) -> list[tuple[str, Row]]:
    rows: list[tuple[str, Row]] = []
    for window in WINDOWS:
        prefix = f"usage.{window}"
        present = [f for f in figures.values() if f"{prefix}.cpu_s" in f]
        if not present:
            continue
        rows.append((window, Row(f"{prefix}.peak_rss_mib", "peak RSS MiB", "low")))
        if any(
            f.get(f"{prefix}.peak_core_rss_mib") != f.get(f"{prefix}.peak_rss_mib")
            for f in present
        ):
            rows.append(
                (
                    window,
                    Row(
                        f"{prefix}.peak_core_rss_mib",
                        "peak RSS MiB w/o job runner",
                        "low",
                    ),
                )
            )
        rows.append((window, Row(f"{prefix}.cpu_s", "server CPU s", "low")))
        rows.append((window, Row(f"{prefix}.pg_cpu_s", "PostgreSQL CPU s", "low")))
        rows.append((window, Row(f"{prefix}.seconds", "wall s")))
        rows.append((window, Row(f"{prefix}.client_cpu_s", "bench clients CPU s")))
        rows.append(
            (window, Row(f"{prefix}.machine_cpu_s", "whole machine CPU s (contention)"))
        )

    return rows


def table(
    servers: list[str],
    figures: Mapping[str, Mapping[str, Value]],
    layout: Mapping[str, list[Row]],
) -> str:
    """The whole table as text, one row per figure any server has.

    Args:
        servers: Column order; ``OURS`` among them gets the ratio columns,
            and ``FLOOR`` with ``STOCK`` the floor's ratio column.
        figures: Per server, ``scenario.figure`` to value.
        layout: The sections and their rows, from ``sections``.
    """
    peers = [name for name in servers if name not in (OURS, FLOOR)]
    floor_ratio = FLOOR in servers and STOCK in servers
    header = ["scenario", "figure", *(COLUMN_NAMES.get(n, n) for n in servers)]
    header += [f"vs {peer}" for peer in peers]
    header += [FLOOR_RATIO] if floor_ratio else []
    lines: list[list[str]] = [header]

    rows = [(section, row) for section, rows in layout.items() for row in rows]
    rows += [(f"usage: {window}", row) for window, row in _usage_rows(figures)]
    for section, row in rows:
        values = [figures.get(name, {}).get(row.key) for name in servers]
        if all(value is None for value in values):
            continue
        ours = figures.get(OURS, {}).get(row.key)
        ratios = [
            _ratio(ours, figures.get(peer, {}).get(row.key), row.better)
            for peer in peers
        ]
        if floor_ratio:
            floor, stock = (figures.get(n, {}).get(row.key) for n in (FLOOR, STOCK))
            ratios.append(_ratio(floor, stock, row.better) if _bound(row.key) else "")
        cells = [format_value(value, row.better) for value in values]
        lines.append([section, row.label, *cells, *ratios])

    return _align(lines)


def floor_bounds(
    figures: Mapping[str, Mapping[str, Value]],
) -> dict[str, dict[str, Value]]:
    """Per figure with a target, the floor's ratio to stock and ours to the floor.

    ``floor_vs_stock`` is the best ratio to stock MLflow any server could
    reach through this client on this machine, to set beside the target;
    ``calabi_share_of_floor`` is how much of that we reach (1 = all).
    """
    bounds: dict[str, dict[str, Value]] = {}
    for key, (better, target) in FLOOR_TARGETS.items():
        floor, stock, ours = (figures.get(n, {}).get(key) for n in (FLOOR, STOCK, OURS))
        if floor is None:
            continue
        bounds[key] = {
            "floor": floor,
            "stock": stock,
            "calabi": ours,
            "floor_vs_stock": _oriented(floor, stock, better),
            "target_vs_stock": target,
            "calabi_share_of_floor": _oriented(ours, floor, better),
        }

    return bounds


def _bound(key: str) -> bool:
    return not any(word in key for word in _SERVER_OWN)


def _oriented(ours: Value, other: Value, better: Better) -> Value:
    """``ours`` over ``other``, inverted where lower is better; None if unknown."""
    if ours is None or other is None:
        return None
    if better == "high":
        return ours / other if other else None
    return other / ours if ours else None


def _ratio(ours: Value, peer: Value, better: Better) -> str:
    ratio = _oriented(ours, peer, better) if better in ("high", "low") else None
    return "" if ratio is None else f"{ratio:.2f}x"


def format_value(value: Value, better: Better) -> str:
    """A figure as the table shows it: 3 significant digits or so, or yes/NO."""
    if value is None:
        return "n/a"
    if better == "yes":
        return "yes" if value == 1.0 else "NO"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _align(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text: list[str] = []
    previous_section = ""
    for number, line in enumerate(lines):
        section = line[0] if line[0] != previous_section else ""
        previous_section = line[0]
        cells = [section, *line[1:]]
        left = [
            cell.ljust(width) for cell, width in zip(cells[:2], widths, strict=False)
        ]
        right = [
            cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)
        ]
        text.append("  ".join(left + right).rstrip())
        if number == 0:
            text.append("-" * len(text[0]))

    return "\n".join(text)


def write_json(path: Path, document: Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def flatten(
    scenario: str, figures: Mapping[str, Value] | None
) -> Iterable[tuple[str, Value]]:
    """``scenario.figure`` keys for one scenario's figures."""
    for name, value in (figures or {}).items():
        yield f"{scenario}.{name}", value
