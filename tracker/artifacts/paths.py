"""Artifact paths: made safe, then resolved to the run or model that owns them.

A path in the artifact service is relative to the tenant's bucket, as the
stock client builds it from an ``mlflow-artifacts:/`` URI: a run's files are
under ``<experiment_id>/<run_id>/artifacts/``, a logged model's under
``<experiment_id>/models/<model_id>/artifacts/``.  A path is only ever used
after its owner is found in the tenant's own write-side state, so no path
reaches another run's or another tenant's files.
"""

import re
from typing import Literal
from urllib.parse import unquote

import msgspec

from tracker.db import Connection
from tracker.errors import InvalidParameter, NotFound

SCHEME = "mlflow-artifacts:"
_DRIVE = re.compile(r"^[a-zA-Z]:")
# The root is whatever precedes the owner id: normally the experiment id,
# but an experiment created with its own artifact location has another.
_RUN_ROOT = re.compile(r"^((?:.+/)?([0-9a-f]{32})/artifacts)(?:/(.*))?$")
_RUN_LOCATION = "SELECT artifact_uri FROM decision.runs WHERE run_id = $1"
_MODEL_LOCATION = (
    "SELECT artifact_location FROM decision.logged_models WHERE model_id = $1"
)
_MODEL_ROOT = re.compile(r"^((?:.+/)?models/(m-[0-9a-f]{32})/artifacts)(?:/(.*))?$")


class ArtifactOwner(msgspec.Struct, frozen=True):
    """The run or logged model a path belongs to, and the path within it."""

    kind: Literal["run", "model"]
    owner_id: str
    root: str
    relative: str

    @property
    def stream(self) -> str:
        return f"{self.kind}-{self.owner_id}"

    def key(self, relative: str | None = None) -> str:
        relative = self.relative if relative is None else relative
        return f"{self.root}/{relative}" if relative else self.root


def safe_path(raw: str) -> str:
    """Refuse traversal, absolute paths and their encoded forms.

    The path is decoded until it stops changing, so ``%2e%2e`` and
    ``%252e%252e`` are caught like ``..``.
    """
    path = raw
    for _ in range(5):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    else:
        raise InvalidParameter(f"Invalid path: {raw!r}")

    segments = path.split("/")
    if (
        path.startswith("/")
        or "\\" in path
        or "#" in path
        or "\x00" in path
        or _DRIVE.match(path)
        or any(segment in ("..", ".") for segment in segments)
        or "" in segments[1:-1]
    ):
        raise InvalidParameter(f"Invalid path: {raw!r}")

    return path.rstrip("/")


def bucket_path(artifact_uri: str) -> str | None:
    """The bucket path of an ``mlflow-artifacts:`` URI; None for other schemes."""
    if not artifact_uri.startswith(SCHEME):
        return None
    return artifact_uri.removeprefix(SCHEME).lstrip("/").rstrip("/")


async def resolve_owner(connection: Connection, path: str) -> ArtifactOwner:
    """Find the run or logged model whose root holds ``path``."""
    kind: Literal["run", "model"]
    if match := _MODEL_ROOT.match(path):
        kind, query = "model", _MODEL_LOCATION
    elif match := _RUN_ROOT.match(path):
        kind, query = "run", _RUN_LOCATION
    else:
        raise NotFound(f"No run or logged model holds artifacts at {path!r}")

    root, owner_id, rest = match.groups()
    stored = await connection.fetchval(query, owner_id)
    if stored is None or bucket_path(stored) != root:
        raise NotFound(f"No run or logged model holds artifacts at {path!r}")

    return ArtifactOwner(kind=kind, owner_id=owner_id, root=root, relative=rest or "")
