"""Peak memory and CPU seconds of whole process trees, read from /proc.

A tree is a root process and every descendant alive at a sample. CPU time
includes ``cutime``/``cstime``, so a worker that exits and is reaped by its
parent keeps counting: the sum over the tree only ever grows. Memory is the
sum of resident set sizes, which counts pages shared between forked workers
once per worker, as ``ps`` and the MLflow baseline do.
"""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
MACHINE = "machine"


@dataclass(frozen=True, slots=True)
class TreeSample:
    """One reading of a tree: its memory, with and without excluded parts."""

    rss: int
    core_rss: int
    cpu_seconds: float
    processes: int


@dataclass(frozen=True, slots=True)
class Tree:
    """A process tree to watch, or a forest of them.

    Args:
        name: How the report calls it.
        roots: The root process ids.
        exclude: Substrings of a command line whose process, with its
            descendants, is left out of ``core_rss`` (stock MLflow's job
            runner serves no tracking request).
        descend: False counts the roots alone, without their children
            living or reaped (the bench process is the servers' parent).
    """

    name: str
    roots: tuple[int, ...]
    exclude: tuple[str, ...] = ()
    descend: bool = True


@dataclass(slots=True)
class Usage:
    """What trees used during one window, filled in when the window closes."""

    seconds: float = 0.0
    # Contention: the 1-minute load average at the start, and the CPU seconds
    # every process on the machine used during the window ("machine").
    load_1m: float = 0.0
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    peak_core_rss_mib: dict[str, float] = field(default_factory=dict)
    start_rss_mib: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "seconds": self.seconds,
            "load_1m": self.load_1m,
            "peak_rss_mib": self.peak_rss_mib,
            "peak_core_rss_mib": self.peak_core_rss_mib,
            "start_rss_mib": self.start_rss_mib,
            "cpu_seconds": self.cpu_seconds,
        }


class Sampler:
    """Samples trees on a background thread; ``window`` measures a stretch.

    Args:
        interval: Seconds between samples.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self._interval = interval
        self._trees: list[Tree] = []
        self._windows: list[tuple[Usage, dict[str, TreeSample]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, *trees: Tree) -> None:
        """Watch exactly ``trees`` from now on."""
        with self._lock:
            self._trees = list(trees)

    @contextmanager
    def window(self) -> Iterator[Usage]:
        """Measure the trees between entry and exit into the yielded Usage."""
        usage = Usage(load_1m=os.getloadavg()[0])
        began = time.perf_counter()
        machine_before = _machine_busy_seconds()
        first = self._sample_all()
        usage.start_rss_mib = {name: s.rss / MIB for name, s in first.items()}
        usage.peak_rss_mib = dict(usage.start_rss_mib)
        usage.peak_core_rss_mib = {name: s.core_rss / MIB for name, s in first.items()}
        entry = (usage, first)
        with self._lock:
            self._windows.append(entry)

        try:
            yield usage
        finally:
            with self._lock:
                self._windows.remove(entry)
            last = self._sample_all()
            self._record_peaks(usage, last)
            usage.cpu_seconds = {
                name: last[name].cpu_seconds - first[name].cpu_seconds
                for name in first
                if name in last
            }
            usage.cpu_seconds[MACHINE] = _machine_busy_seconds() - machine_before
            usage.seconds = time.perf_counter() - began

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            samples = self._sample_all()
            with self._lock:
                for usage, _ in self._windows:
                    self._record_peaks(usage, samples)

    def _sample_all(self) -> dict[str, TreeSample]:
        with self._lock:
            trees = list(self._trees)
        table = _process_table()

        return {tree.name: _sample_tree(tree, table) for tree in trees}

    @staticmethod
    def _record_peaks(usage: Usage, samples: dict[str, TreeSample]) -> None:
        for name, sample in samples.items():
            rss = sample.rss / MIB
            core = sample.core_rss / MIB
            usage.peak_rss_mib[name] = max(usage.peak_rss_mib.get(name, 0.0), rss)
            usage.peak_core_rss_mib[name] = max(
                usage.peak_core_rss_mib.get(name, 0.0), core
            )


@dataclass(frozen=True, slots=True)
class _Process:
    pid: int
    ppid: int
    rss: int
    own_ticks: int
    cpu_ticks: int


def _process_table() -> dict[int, _Process]:
    table: dict[int, _Process] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            # The process exited between the listing and the read.
            continue

        # The command name in parentheses may itself hold spaces or parentheses;
        # the fields after the last ')' are fixed.
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime, stime, then cutime, cstime: children waited for.
        own = int(fields[11]) + int(fields[12])
        table[int(entry.name)] = _Process(
            pid=int(entry.name),
            ppid=int(fields[1]),
            rss=int(fields[21]) * PAGE_SIZE,
            own_ticks=own,
            cpu_ticks=own + int(fields[13]) + int(fields[14]),
        )

    return table


def _sample_tree(tree: Tree, table: dict[int, _Process]) -> TreeSample:
    if not tree.descend:
        alive = [table[root] for root in tree.roots if root in table]
        rss = sum(process.rss for process in alive)
        ticks = sum(process.own_ticks for process in alive)
        return TreeSample(
            rss=rss, core_rss=rss, cpu_seconds=ticks / CLOCK_TICKS, processes=len(alive)
        )

    children: dict[int, list[int]] = {}
    for process in table.values():
        children.setdefault(process.ppid, []).append(process.pid)

    rss = core_rss = ticks = count = 0
    pending = [(root, False) for root in tree.roots if root in table]
    while pending:
        pid, excluded = pending.pop()
        process = table[pid]
        excluded = excluded or _matches(pid, tree.exclude)
        rss += process.rss
        core_rss += 0 if excluded else process.rss
        ticks += process.cpu_ticks
        count += 1
        pending += [(child, excluded) for child in children.get(pid, [])]

    return TreeSample(
        rss=rss, core_rss=core_rss, cpu_seconds=ticks / CLOCK_TICKS, processes=count
    )


def _machine_busy_seconds() -> float:
    # The first line of /proc/stat sums all cores: user nice system idle
    # iowait irq softirq steal ...; idle and iowait are not work.
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]

    return busy / CLOCK_TICKS


def _matches(pid: int, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False

    text = command.decode(errors="replace")
    return any(pattern in text for pattern in patterns)
