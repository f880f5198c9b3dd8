"""A project-local PostgreSQL server for development and tests.

The server lives in one data directory of the caller's choosing. Its Unix socket
sits in a sibling directory, and it listens on 127.0.0.1 only when asked to.
Authentication is ``trust``: any local user who can reach the socket directory,
or the TCP port when it is open, connects as the superuser ``postgres``. That is
the point of a throwaway development server and the reason never to run this one
for anything else.

PostgreSQL refuses to run as root; ``tracker.embedded.as_user`` says how its
programs run when this process is root. ``tracker.embedded.postgres_binaries``
finds the programs.

Only the standard library is used, so that this module runs before, and apart
from, the rest of the tracker.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tracker.embedded.as_user import check_reachable, launcher
from tracker.embedded.errors import PostgresSetupError
from tracker.embedded.postgres_binaries import find_binaries
from tracker.embedded.stop_command import run_stop_command

__all__ = [
    "ConnectParams",
    "EmbeddedPostgres",
    "PostgresSetupError",
    "find_binaries",
]

SUPERUSER = "postgres"
DEFAULT_DATABASE = "postgres"

# The port a socket-only server uses when the caller names none. It only
# shapes the socket's file name, and the socket directory is private to one
# server, so it cannot clash with anything.
SOCKET_ONLY_PORT = 5432

# sockaddr_un.sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs,
# the closing NUL included; PostgreSQL refuses socket paths that do not fit.
MAX_SOCKET_PATH_BYTES = 103

# Seconds pg_ctl waits for the server to start or stop. Generous, because a CI
# machine under load can take several seconds to replay or checkpoint.
PG_CTL_TIMEOUT = 60


@dataclass(frozen=True, slots=True)
class ConnectParams:
    """Where a running server accepts connections.

    The field names are those of ``asyncpg.connect``, so
    ``asyncpg.connect(**dataclasses.asdict(params))`` works. ``host`` is either
    ``127.0.0.1`` or the absolute path of the socket directory.
    """

    host: str
    port: int
    user: str = SUPERUSER
    database: str = DEFAULT_DATABASE

    @property
    def uses_socket(self) -> bool:
        """Whether ``host`` names a Unix socket directory rather than an address."""
        return self.host.startswith("/")

    def dsn(self, database: str | None = None) -> str:
        """Return a ``postgresql://`` URL for this server.

        Args:
            database: The database to name in the URL; ``self.database`` if None.
        """
        user = quote(self.user, safe="")
        name = quote(self.database if database is None else database, safe="")

        if self.uses_socket:
            query = f"host={quote(self.host)}&port={self.port}"
            return f"postgresql://{user}@/{name}?{query}"

        return f"postgresql://{user}@{self.host}:{self.port}/{name}"


class EmbeddedPostgres:
    """A PostgreSQL server on one data directory, started on demand.

    Nothing happens until ``start``: it creates the cluster if needed and starts
    the server unless it already runs. The server outlives this object and this
    process; ``stop`` ends it.

    Args:
        data_dir: The cluster's data directory, created on first start. Its
            parent also receives the socket directory ``<name>-socket``.
        bin_dir: The PostgreSQL programs; ``find_binaries()`` if None.
    """

    def __init__(self, data_dir: Path, *, bin_dir: Path | None = None) -> None:
        self.data_dir = data_dir.absolute()
        self.socket_dir = self.data_dir.with_name(f"{self.data_dir.name}-socket")
        self.log_file = self.data_dir / "server.log"
        self.bin_dir = find_binaries() if bin_dir is None else bin_dir

    def start(
        self,
        *,
        port: int | None = None,
        listen_tcp: bool = True,
        durable: bool = True,
    ) -> ConnectParams:
        """Create the cluster on first use and start the server if it is down.

        A server already running on the data directory is reused as it is,
        including its durability settings.

        Args:
            port: The TCP port, also part of the socket's name. If None, a free
                port when ``listen_tcp``, else ``SOCKET_ONLY_PORT``.
            listen_tcp: Listen on 127.0.0.1 as well as on the Unix socket.
            durable: Keep fsync and full-page writes on. Tests turn this off to
                trade crash safety for speed.

        Returns:
            TCP parameters when the server listens on TCP, else socket ones.

        Raises:
            PostgresSetupError: A PostgreSQL program failed, or the running
                server does not listen where the caller asked.
        """
        if self.is_running():
            return self._reuse(port, listen_tcp)

        if port is None:
            port = _free_tcp_port() if listen_tcp else SOCKET_ONLY_PORT
        self._check_socket_path(port)
        self._prepare_folders()

        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb()

        options = _server_options(
            port=port,
            listen_tcp=listen_tcp,
            socket_dir=self.socket_dir,
            durable=durable,
        )
        # pg_ctl must get a log file: without one the server inherits pg_ctl's
        # stdout and stderr, and capturing them would wait for the server to exit.
        result = self._run(
            "pg_ctl",
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(PG_CTL_TIMEOUT),
            "-o",
            options,
        )
        if result.returncode != 0:
            raise PostgresSetupError(
                f"PostgreSQL did not start on {self.data_dir}: "
                f"{_output(result)}\n{self._log_tail()}"
            )

        return self._running_params()

    def stop(self) -> None:
        """Stop the server with a fast shutdown; do nothing if it is not running.

        Raises:
            PostgresSetupError: pg_ctl failed to stop the server.
        """
        if not self.is_running():
            return

        result = self._run(
            "pg_ctl",
            "stop",
            "-D",
            str(self.data_dir),
            "-m",
            "fast",
            "-w",
            "-t",
            str(PG_CTL_TIMEOUT),
        )
        if result.returncode != 0:
            raise PostgresSetupError(
                f"PostgreSQL on {self.data_dir} did not stop: {_output(result)}"
            )

    def is_running(self) -> bool:
        """Whether a server process is alive on the data directory."""
        if not (self.data_dir / "postmaster.pid").is_file():
            return False

        # pg_ctl also notices a lock file left behind by a crashed server.
        status = self._run("pg_ctl", "status", "-D", str(self.data_dir))
        return status.returncode == 0

    def _reuse(self, port: int | None, listen_tcp: bool) -> ConnectParams:
        params = self._running_params()
        if port is not None and params.port != port:
            raise PostgresSetupError(
                f"PostgreSQL on {self.data_dir} already runs on port {params.port}, "
                f"not {port}; stop it first"
            )
        if listen_tcp and params.uses_socket:
            raise PostgresSetupError(
                f"PostgreSQL on {self.data_dir} already runs without TCP; stop it first"
            )

        return params

    def _running_params(self) -> ConnectParams:
        # postmaster.pid holds, one per line: pid, data directory, start time,
        # port, first socket directory, first listen address, shared memory
        # key, status. Lines 5 and 6 are empty when that kind is off.
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        port = int(lines[3])
        socket_dir = lines[4] if len(lines) > 4 else ""
        address = lines[5] if len(lines) > 5 else ""

        if address:
            return ConnectParams(host="127.0.0.1", port=port)

        return ConnectParams(host=socket_dir or str(self.socket_dir), port=port)

    def _check_socket_path(self, port: int) -> None:
        socket_path = self.socket_dir / f".s.PGSQL.{port}"
        if len(os.fsencode(socket_path)) > MAX_SOCKET_PATH_BYTES:
            raise PostgresSetupError(
                f"the socket path {socket_path} is longer than "
                f"{MAX_SOCKET_PATH_BYTES} bytes; use a data directory with a "
                "shorter path"
            )

    def _prepare_folders(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)

        account = launcher().account
        if account is None:
            return

        # The two folders are about to become the account's; what it must be
        # able to enter already is everything above them, and the programs.
        for folder in (self.bin_dir, self.data_dir.parent):
            check_reachable(folder, account)
        for folder in (self.data_dir, self.socket_dir):
            os.chown(folder, account.pw_uid, account.pw_gid)

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            raise PostgresSetupError(
                f"initdb failed on {self.data_dir}: {_output(result)}"
            )

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*launcher().prefix, str(self.bin_dir / program), *args]
        cwd = self.data_dir.parent if self.data_dir.parent.is_dir() else None

        # LC_ALL=C keeps the programs' messages, which end up in our errors,
        # in English.
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return f"(no server log at {self.log_file})"

        return "\n".join(text.splitlines()[-lines:])


def _server_options(
    *, port: int, listen_tcp: bool, socket_dir: Path, durable: bool
) -> str:
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1" if listen_tcp else "",
        "unix_socket_directories": str(socket_dir),
        "max_connections": "200",
    }
    if not durable:
        settings |= {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }

    # pg_ctl hands this string to /bin/sh, hence the quoting.
    arguments: list[str] = []
    for name, value in settings.items():
        arguments += ["-c", f"{name}={value}"]
    return shlex.join(arguments)


def _free_tcp_port() -> int:
    # The port is free now; another process may take it before the server
    # binds it, in which case the start fails with "address already in use".
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr or result.stdout).strip()


def _main(argv: Sequence[str] | None = None) -> int:
    return run_stop_command(
        argv,
        prog="python -m tracker.embedded.postgres",
        description="Stop embedded PostgreSQL servers. Folders that hold no "
        "cluster are skipped, so a glob over a data folder is fine.",
        marker="PG_VERSION",
        stop=lambda data_dir: EmbeddedPostgres(data_dir).stop(),
    )


if __name__ == "__main__":
    sys.exit(_main())
