"""The ``weed mini`` process: its ports, its launch, its end and its leftovers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from tracker.embedded.errors import S3SetupError

__all__ = [
    "HOST",
    "PORT_FLAGS",
    "choose_ports",
    "command_line",
    "has_exited",
    "remove_sockets",
    "spawn_weed",
    "terminate",
]

HOST = "127.0.0.1"

# Without a limit the Go heap grows past 1 GB under multipart uploads and is
# not given back; at 256MiB the garbage collector thrashes.
MEMORY_LIMIT = "512MiB"

# A graceful stop can take 12 s while the filer drains its gRPC streams. The
# data is flushed by then in practice, and a test server's data is throwaway.
STOP_GRACE_SECONDS = 5.0

# Each listener of `weed mini`, by flag. gRPC ports default to HTTP + 10000,
# which overflows for high HTTP ports, so every one is given explicitly.
PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
)

_FIXED_FLAGS = (
    f"-ip={HOST}",
    f"-ip.bind={HOST}",
    "-master.telemetry=false",
    "-webdav=false",
    "-admin.ui=false",
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    # S3 semantics rather than SeaweedFS conveniences: DeleteBucket on a
    # non-empty bucket fails, and a PUT into a missing bucket does not create it.
    "-s3.allowDeleteBucketNotEmpty=false",
    "-s3.autoCreateBucket=false",
)

# The servers inside `weed mini` also listen on Unix sockets, named by the
# port of the listener they shadow, and leave them behind when they exit. The
# folder is fixed: weed ignores $TMPDIR for them. A running server needs its
# sockets, so they are removed only once it has exited.
SOCKET_DIR = Path("/tmp")
_SOCKET_KINDS = ("master", "volume", "filer", "s3", "admin")


def choose_ports(
    s3_port: int | None, preferred: Mapping[str, int] | None
) -> dict[str, int]:
    """Return a port for every flag of ``PORT_FLAGS``.

    Args:
        s3_port: The S3 port the caller asked for, if any.
        preferred: The previous run's ports, kept whole when all are free and
            agree with ``s3_port``.
    """
    reusable = preferred is not None and s3_port in (None, preferred["s3.port"])
    if preferred is not None and reusable and all(map(_is_free, preferred.values())):
        return dict(preferred)

    # The ports are free now; another process may take one before the server
    # binds it, in which case the server exits and the start is retried.
    ports: dict[str, int] = {}
    with contextlib.ExitStack() as probes:
        for flag in PORT_FLAGS:
            if flag == "s3.port" and s3_port is not None:
                ports[flag] = s3_port
                continue
            # Holding every probe open until all are chosen keeps the kernel
            # from handing out the same port twice.
            probe = probes.enter_context(socket.socket())
            probe.bind((HOST, 0))
            ports[flag] = probe.getsockname()[1]

    return ports


def spawn_weed(
    weed_bin: Path,
    *,
    data_dir: Path,
    volume_dir: Path,
    identities_file: Path,
    log_file: Path,
    ports: Mapping[str, int],
) -> subprocess.Popen[bytes]:
    """Start ``weed mini`` on ``ports`` in a session of its own.

    Args:
        weed_bin: The ``weed`` program.
        data_dir: The working folder, which also holds weed's toml configuration.
        volume_dir: SeaweedFS's own data.
        identities_file: The S3 identities weed accepts.
        log_file: Receives the server's output, appended.
        ports: A port for every flag of ``PORT_FLAGS``.
    """
    # Global flags come before the command. Logs go to weed.log rather than
    # to files in the temporary folder, and toml configuration is read from
    # the data directory only, never from the user's or the system's.
    argv = [
        str(weed_bin),
        "-logtostderr",
        f"-config_dir={data_dir}",
        "mini",
        f"-dir={volume_dir}",
        f"-s3.config={identities_file}",
        *_FIXED_FLAGS,
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    with log_file.open("ab") as log:
        # A session of its own keeps a terminal's Ctrl-C, meant for the
        # tracker, from reaching the server that outlives it.
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            env={**os.environ, "GOMEMLIMIT": MEMORY_LIMIT},
            start_new_session=True,
        )


def terminate(pid: int, process: subprocess.Popen[bytes] | None) -> None:
    """End the server with SIGTERM, then SIGKILL after ``STOP_GRACE_SECONDS``.

    Args:
        pid: The server's process id.
        process: The server's ``Popen`` when this process started it, so that
            it is reaped.

    Raises:
        S3SetupError: The server survived SIGKILL.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_for_exit(pid, process, STOP_GRACE_SECONDS):
        return

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_for_exit(pid, process, STOP_GRACE_SECONDS):
        raise S3SetupError(f"SeaweedFS (pid {pid}) survived SIGKILL")


def has_exited(pid: int) -> bool:
    """Whether the process ``pid`` is gone, reaping it if it is our child."""
    # A child of this process that exited stays a zombie, which signal 0
    # still reaches, until it is reaped.
    with contextlib.suppress(ChildProcessError):
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return True

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False

    return False


def command_line(pid: int) -> str:
    """The command line of process ``pid``, its arguments joined by spaces."""
    proc_file = Path(f"/proc/{pid}/cmdline")
    if proc_file.parent.is_dir():
        try:
            return proc_file.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return ""

    # No /proc, as on macOS.
    result = subprocess.run(
        ["ps", "-o", "command=", "-p", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout


def remove_sockets(ports: Iterable[int]) -> None:
    """Remove the Unix sockets weed left in ``SOCKET_DIR`` for these ports."""
    for port in ports:
        for kind in _SOCKET_KINDS:
            for name in (f"seaweedfs-{kind}-{port}", f"seaweedfs-{kind}-grpc-{port}"):
                _remove_if_socket(SOCKET_DIR / f"{name}.sock")


def _is_free(port: int) -> bool:
    # Go's listeners set SO_REUSEADDR, so a port that lingers in TIME_WAIT
    # after the previous run counts as free.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False

    return True


def _wait_for_exit(
    pid: int, process: subprocess.Popen[bytes] | None, timeout: float
) -> bool:
    if process is not None:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    deadline = time.monotonic() + timeout
    while not has_exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

    return True


def _remove_if_socket(path: Path) -> None:
    # Another user's socket on the same port number is not ours to remove,
    # and the sticky temporary folder would refuse anyway.
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()
