"""How the embedded PostgreSQL's programs run when this process is root.

PostgreSQL refuses to run as root. When this process is root, every PostgreSQL
program runs inside a fresh user namespace in which root is seen as ``nobody``:
the files stay root-owned on disk, so nothing needs chowning and directories
that only root may enter (``/root``, pytest's ``/tmp/pytest-of-root``) still
work. Where user namespaces are unavailable, the programs run as a dedicated
system user instead, which only works for folders that user can reach.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tracker.embedded.errors import PostgresSetupError

__all__ = ["FALLBACK_USER", "Launcher", "check_reachable", "launcher"]

FALLBACK_USER = "calabi-pg"

_UNSHARE = ("unshare", "--user", "--map-user=nobody", "--map-group=nogroup")


@dataclass(frozen=True, slots=True)
class Launcher:
    """How this process runs PostgreSQL programs.

    ``prefix`` goes before every command. ``account`` is the user the programs
    run as when that is neither this process's user nor namespaced root; the
    server's folders must then belong to it.
    """

    prefix: tuple[str, ...] = ()
    account: pwd.struct_passwd | None = None


@functools.cache
def launcher() -> Launcher:
    """Return how to run PostgreSQL programs from this process, probed once.

    Raises:
        PostgresSetupError: This process is root, user namespaces are
            unavailable, and the fallback user can be neither found nor made.
    """
    if os.geteuid() != 0:
        return Launcher()

    if _user_namespaces_work():
        return Launcher(prefix=(*_UNSHARE, "--"))

    account = _fallback_account()
    prefix = (
        "setpriv",
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--init-groups",
        "--",
    )
    return Launcher(prefix=prefix, account=account)


def check_reachable(folder: Path, account: pwd.struct_passwd) -> None:
    """Check that ``account`` can enter ``folder`` and every folder above it.

    Raises:
        PostgresSetupError: Some folder on the way stops the account.
    """
    # Only the fallback account needs this check, and it belongs to no group
    # but its own, so "others may search" is the test for folders it does not
    # own. A 0700 parent such as /root stops it.
    for ancestor in (folder, *folder.parents):
        mode = ancestor.stat()
        if mode.st_uid != account.pw_uid and not mode.st_mode & 0o001:
            raise PostgresSetupError(
                f"user namespaces are unavailable, so PostgreSQL runs as "
                f"{FALLBACK_USER}, who cannot enter {ancestor}; move the data "
                "directory or enable user namespaces"
            )


def _user_namespaces_work() -> bool:
    try:
        probe = subprocess.run([*_UNSHARE, "true"], capture_output=True, check=False)
    except FileNotFoundError:
        return False

    return probe.returncode == 0


def _fallback_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(FALLBACK_USER)
    except KeyError:
        pass

    if shutil.which("useradd") is None or shutil.which("setpriv") is None:
        raise PostgresSetupError(
            "PostgreSQL cannot run as root, user namespaces are unavailable, "
            f"and useradd or setpriv is missing to run it as {FALLBACK_USER}"
        )
    created = subprocess.run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            FALLBACK_USER,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        output = (created.stderr or created.stdout).strip()
        raise PostgresSetupError(f"could not create the user {FALLBACK_USER}: {output}")

    return pwd.getpwnam(FALLBACK_USER)
