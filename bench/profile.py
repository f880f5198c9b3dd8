"""Sampling profiles of our server with py-spy, and their hottest frames.

py-spy attaches to the running server by pid and writes collapsed stacks
("raw" format: one line per distinct stack, frames joined by ';', then a
sample count). Own time of a frame is the samples where it is the leaf;
total time is the samples where it appears at all.
"""

import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Longer than any scenario; the profile is ended by SIGINT when the
# scenario is.
MAX_SECONDS = 3600


@contextmanager
def profiling(py_spy: Path, pid: int, output: Path, rate: int = 100) -> Iterator[None]:
    """Record ``pid`` with py-spy from entry to exit into ``output``."""
    command = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--rate",
        str(rate),
        "--duration",
        str(MAX_SECONDS),
        "--nonblocking",
        "--output",
        str(output),
    ]
    recorder = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        # py-spy writes what it has when interrupted.
        recorder.send_signal(signal.SIGINT)
        try:
            recorder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()


@dataclass(frozen=True, slots=True)
class HotSpots:
    """The frames with most own and most total time, as shares of all samples."""

    samples: int
    own: list[tuple[str, float]]
    total: list[tuple[str, float]]


def hot_spots(collapsed: Path, top: int = 15) -> HotSpots:
    """Read a profile and rank its frames.

    Args:
        collapsed: A py-spy ``raw`` output file.
        top: How many frames of each kind to return.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(frame, n / max(samples, 1)) for frame, n in counter.most_common(top)]

    return HotSpots(samples=samples, own=shares(own), total=shares(total))
