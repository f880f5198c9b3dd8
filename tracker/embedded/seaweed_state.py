"""What the embedded S3 server's data directory records about it.

The identities file holds the one S3 identity, generated on first start and
kept. The instance file and the pid file say where the running server
listens, with which keys, and which process it is.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tracker.embedded.errors import S3SetupError
from tracker.embedded.seaweed_process import PORT_FLAGS

__all__ = [
    "REGION",
    "Instance",
    "S3Endpoint",
    "load_or_create_credentials",
    "read_instance",
    "record_instance",
    "recorded_ports",
]

REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    """Where a running server accepts S3 requests, and with which identity."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = REGION


@dataclass(frozen=True, slots=True)
class Instance:
    """A server as recorded: its process, its ports and its endpoint."""

    pid: int
    ports: dict[str, int]
    endpoint: S3Endpoint


def read_instance(pid_file: Path, instance_file: Path) -> Instance | None:
    """The recorded server, or None when either file is missing or unreadable.

    The process it names may have died since; the caller checks.
    """
    try:
        pid = int(pid_file.read_text().strip())
        recorded = json.loads(instance_file.read_text())
        return Instance(
            pid=pid,
            ports=recorded["ports"],
            endpoint=S3Endpoint(**recorded["endpoint"]),
        )
    except (OSError, ValueError, LookupError, TypeError):
        return None


def recorded_ports(instance_file: Path) -> dict[str, int] | None:
    """The previous run's ports, or None when none are recorded whole."""
    try:
        ports = json.loads(instance_file.read_text())["ports"]
    except (OSError, ValueError, LookupError, TypeError):
        return None

    if not isinstance(ports, dict) or set(ports) != set(PORT_FLAGS):
        return None
    return ports


def record_instance(
    instance_file: Path,
    pid_file: Path,
    *,
    pid: int,
    ports: Mapping[str, int],
    endpoint: S3Endpoint,
) -> None:
    """Record a server that just became ready, the pid file last."""
    instance = {
        "ports": dict(ports),
        "endpoint": {
            "endpoint_url": endpoint.endpoint_url,
            "access_key": endpoint.access_key,
            "secret_key": endpoint.secret_key,
            "region": endpoint.region,
        },
    }
    _write_private_json(instance_file, instance)
    pid_file.write_text(f"{pid}\n")


def load_or_create_credentials(identities_file: Path) -> tuple[str, str]:
    """Return the access key and secret key, generating them on first use.

    Raises:
        S3SetupError: The identities file exists but cannot be read.
    """
    try:
        identities = json.loads(identities_file.read_text())
        credentials = identities["identities"][0]["credentials"][0]
        return credentials["accessKey"], credentials["secretKey"]
    except FileNotFoundError:
        pass
    except (OSError, ValueError, LookupError, TypeError) as error:
        raise S3SetupError(
            f"cannot read the S3 credentials in {identities_file}: {error}"
        ) from error

    access_key = "CALABI" + secrets.token_hex(7).upper()
    secret_key = secrets.token_urlsafe(30)
    identity = {
        "name": "calabi",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    _write_private_json(identities_file, {"identities": [identity]})

    return access_key, secret_key


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
