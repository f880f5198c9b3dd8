"""The tracking server as a separate process, as deployments run it."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


@contextmanager
def server_process(
    cluster_url: str, tenant: str, port: int, *extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        str(Path(sys.executable).parent / "calabi"),
        "--log-level",
        "warning",
        "serve",
        "--database-url",
        cluster_url,
        "--no-artifacts",
        "--tenant",
        tenant,
        "--port",
        str(port),
        *extra,
    ]
    process = subprocess.Popen(command, env=dict(os.environ))
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/mlflow/health")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _wait_for_health(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        # Polling a port that is not open yet; each refusal returns at once.
        time.sleep(0.05)
    raise TimeoutError(url)
