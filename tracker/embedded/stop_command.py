"""The ``stop`` command line that each embedded server module offers.

``make clean-data`` runs it over a glob of data folders before it deletes
them: a server whose data directory vanished keeps running and keeps its port.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["run_stop_command"]


def run_stop_command(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    marker: str,
    stop: Callable[[Path], None],
) -> int:
    """Parse ``stop DATA_DIR...`` and stop the server of each folder.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` if None.
        prog: The program name the usage message shows.
        description: What the help says the command stops.
        marker: The file whose presence says a folder holds a server; folders
            without it are skipped.
        stop: Stops the server on one data directory.

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("action", choices=["stop"])
    parser.add_argument("data_dirs", nargs="+", type=Path, metavar="DATA_DIR")
    args = parser.parse_args(argv)

    for data_dir in args.data_dirs:
        if (data_dir / marker).is_file():
            stop(data_dir)

    return 0
