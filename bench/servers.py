"""Starting and stopping the servers under comparison, and the client floor.

Each server runs in a session of its own, so that its whole process tree
(stock MLflow's uvicorn workers and job runner included) can be watched and
stopped through the one process id the bench started.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tracker.embedded.seaweed import S3Endpoint

OURS = "calabi"
STOCK = "mlflow"
FASTTRACK = "fasttrackml"
# The in-memory stand-in of ``bench.floor_server``: what the client allows.
FLOOR = "floor"
SERVERS = (OURS, STOCK, FASTTRACK, FLOOR)

BENCH_TENANT = "bench"
STOCK_DATABASE = "mlflow"
FASTTRACK_DATABASE = "fasttrackml"

# The Python servers import a lot before they listen, and stock MLflow's
# uvicorn restarts workers that miss a health ping while they import.
READY_TIMEOUT = 240.0
STOP_TIMEOUT = 30.0

# Stock MLflow's job runner and its huey consumers serve no tracking request;
# the sampler also reports the tree without them.
STOCK_EXCLUDE = ("_job_runner", "huey")


class ServerFailed(RuntimeError):
    """A server did not come up, or exited while the bench ran."""


@dataclass
class Server:
    """A server process, how to reach it and where its output goes."""

    name: str
    command: list[str]
    tracking_uri: str
    log_path: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not started"
        return self.process.pid

    def start(self) -> None:
        """Launch the server and return once it answers API calls."""
        self.cwd.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_ready()

    def stop(self) -> None:
        """End the server's whole session: SIGTERM, then SIGKILL after a grace."""
        if self.process is None:
            return

        group = self.process.pid
        _signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            self.process.wait()

        # Workers of the session may outlive their parent for a moment.
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(group, signal.SIGKILL)
        self.process = None

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise ServerFailed(f"{self.name} exited; see {self.log_path}")

    def _wait_until_ready(self) -> None:
        probe = f"{self.tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(probe, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            # Polling a port that is not open yet: each refusal returns at once.
            time.sleep(0.2)

        raise ServerFailed(f"{self.name} not ready in {READY_TIMEOUT} s")


def calabi(
    bin_dir: Path,
    cluster_url: str,
    scratch: Path,
    s3: S3Endpoint | None = None,
) -> Server:
    """Our server on the bench tenant, with the embedded S3 when given one.

    Args:
        bin_dir: The project venv's ``bin`` folder, which holds ``calabi``.
        cluster_url: The cluster's administrative database URL.
        scratch: The run's scratch folder.
        s3: The artifact store; None serves no artifacts.
    """
    port = free_port()
    storage = ["--no-artifacts"]
    if s3 is not None:
        storage = [
            "--s3-endpoint",
            s3.endpoint_url,
            "--s3-region",
            s3.region,
            "--s3-access-key",
            s3.access_key,
            "--s3-secret-key",
            s3.secret_key,
        ]
    command = [
        str(bin_dir / "calabi"),
        "serve",
        "--database-url",
        cluster_url,
        *storage,
        "--tenant",
        BENCH_TENANT,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]

    return Server(
        name=OURS,
        command=command,
        tracking_uri=f"http://127.0.0.1:{port}/mlflow",
        log_path=scratch / "calabi.log",
        cwd=scratch,
    )


def create_bench_tenant(bin_dir: Path, cluster_url: str) -> None:
    """Create the tenant our server serves, before it starts."""
    subprocess.run(
        [
            str(bin_dir / "calabi"),
            "--log-level",
            "warning",
            "tenant",
            "create",
            BENCH_TENANT,
            "--database-url",
            cluster_url,
            "--no-artifacts",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stock_mlflow(peer_bin: Path, postgres_port: int, scratch: Path) -> Server:
    """``mlflow server`` on PostgreSQL, proxying artifacts, default workers.

    SQLAlchemy 2.1 maps a plain ``postgresql://`` URL to psycopg 3, which the
    stock install lacks; the driver must be named.
    """
    port = free_port()
    backend = (
        f"postgresql+psycopg2://postgres@127.0.0.1:{postgres_port}/{STOCK_DATABASE}"
    )
    artifacts = scratch / "mlflow-artifacts"
    command = [
        str(peer_bin / "mlflow"),
        "server",
        "--backend-store-uri",
        backend,
        "--artifacts-destination",
        artifacts.absolute().as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]

    return Server(
        name=STOCK,
        command=command,
        tracking_uri=f"http://127.0.0.1:{port}",
        log_path=scratch / "mlflow.log",
        cwd=scratch / "mlflow-cwd",
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
        exclude=STOCK_EXCLUDE,
    )


def fasttrackml(peer_bin: Path, postgres_port: int, scratch: Path) -> Server:
    """FastTrackML's ``fml server`` on PostgreSQL."""
    port = free_port()
    database = (
        f"postgres://postgres@127.0.0.1:{postgres_port}/{FASTTRACK_DATABASE}"
        "?sslmode=disable"
    )
    command = [
        str(peer_bin / "fml"),
        "server",
        "--listen-address",
        f"127.0.0.1:{port}",
        "--database-uri",
        database,
        "--default-artifact-root",
        str((scratch / "fml-artifacts").absolute()),
    ]

    return Server(
        name=FASTTRACK,
        command=command,
        tracking_uri=f"http://127.0.0.1:{port}",
        log_path=scratch / "fasttrackml.log",
        cwd=scratch / "fml-cwd",
    )


def floor(bin_dir: Path, scratch: Path) -> Server:
    """The client-floor stand-in, in a process of its own like the others.

    Args:
        bin_dir: The project venv's ``bin`` folder, whose Python runs it.
        scratch: The run's scratch folder.
    """
    port = free_port()
    # The stand-in is a module of the bench package, which a wheel of the
    # project lacks; the folder that holds the package goes on its path.
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
    command = [
        str(bin_dir / "python"),
        "-m",
        "bench.floor_server",
        "--port",
        str(port),
    ]

    return Server(
        name=FLOOR,
        command=command,
        tracking_uri=f"http://127.0.0.1:{port}",
        log_path=scratch / "floor.log",
        cwd=scratch,
        env={"PYTHONPATH": path},
    )


def free_port() -> int:
    # Free now; another process could take it before the server binds it, in
    # which case the server fails to start and the bench says so.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _signal_group(group: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
