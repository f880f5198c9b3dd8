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
# Where an owner's root ends in a path: "<run_id>/artifacts" for a run,
# "models/<model_id>/artifacts" for a logged model.  Whatever precedes it is
# normally the experiment id, but an experiment created with its own
# artifact location has another prefix, so a path may show the shape more
# than once; the owner is the first whose recorded root matches.
_ROOT_END = re.compile(
    r"(?:^|(?<=/))(?:(?P<model>models/(?P<model_id>m-[0-9a-f]{32}))"
    r"|(?P<run_id>[0-9a-f]{32}))/artifacts(?=/|$)"
)
_RUN_LOCATION = "SELECT artifact_uri FROM decision.runs WHERE run_id = $1"
_MODEL_LOCATION = (
    "SELECT artifact_location FROM decision.logged_models WHERE model_id = $1"
)
# How often a path is percent-decoded to look for hidden traversal.
_DECODINGS = 5


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

    The path arrives decoded once, by the HTTP layer, and is kept as it is:
    a file may be named ``100%25.txt``.  Every further decoding of it is
    checked as well, so ``%2e%2e`` and ``%252e%252e`` are caught like ``..``
    should anything downstream decode the name again.

    Returns:
        The path without a trailing slash.
    """
    decoded = raw
    for _ in range(_DECODINGS):
        if _is_unsafe(decoded):
            raise InvalidParameter(f"Invalid path: {raw!r}")
        once_more = unquote(decoded)
        if once_more == decoded:
            return raw.rstrip("/")
        decoded = once_more

    raise InvalidParameter(f"Invalid path: {raw!r}")


def bucket_path(artifact_uri: str) -> str | None:
    """The bucket path of an ``mlflow-artifacts:`` URI; None for other schemes."""
    if not artifact_uri.startswith(SCHEME):
        return None
    return artifact_uri.removeprefix(SCHEME).lstrip("/").rstrip("/")


async def resolve_owner(connection: Connection, path: str) -> ArtifactOwner:
    """Find the run or logged model whose root holds ``path``.

    Raises:
        NotFound: No run or logged model has its root where the path says.
        InvalidParameter: The path goes on, inside its owner's root, into
            what has the shape of another run's or model's root.
    """
    for match in _ROOT_END.finditer(path):
        owner = await _owner_ending_at(connection, path, match)
        if owner is None:
            continue
        if _ROOT_END.search(owner.relative):
            raise InvalidParameter(
                f"Invalid path: {path!r} reaches into another artifact root"
            )
        return owner

    raise NotFound(f"No run or logged model holds artifacts at {path!r}")


async def resolve_run_file(
    connection: Connection, run_id: str, relative: str
) -> ArtifactOwner:
    """Find the owner of ``relative`` inside the run's own artifact root.

    The run's root is the only place the path may lead, so a path meant for
    another run or model cannot be smuggled in.

    Raises:
        NotFound: The run does not exist, or its root is not in this store.
        InvalidParameter: The path reaches into another artifact root.
    """
    artifact_uri = await connection.fetchval(
        "SELECT artifact_uri FROM decision.runs WHERE run_id = $1", run_id
    )
    root = bucket_path(artifact_uri) if artifact_uri is not None else None
    if root is None:
        raise NotFound(f"Run with id={run_id} not found")

    return await resolve_owner(connection, f"{root}/{relative}")


async def _owner_ending_at(
    connection: Connection, path: str, match: re.Match[str]
) -> ArtifactOwner | None:
    kind: Literal["run", "model"]
    if match["model"]:
        kind, owner_id, query = "model", match["model_id"], _MODEL_LOCATION
    else:
        kind, owner_id, query = "run", match["run_id"], _RUN_LOCATION
    root = path[: match.end()]

    stored = await connection.fetchval(query, owner_id)
    if stored is None or bucket_path(stored) != root:
        return None

    relative = path[match.end() :].removeprefix("/")
    return ArtifactOwner(kind=kind, owner_id=owner_id, root=root, relative=relative)


def _is_unsafe(path: str) -> bool:
    segments = path.split("/")

    return (
        path.startswith("/")
        or "\\" in path
        or "#" in path
        or "\x00" in path
        or _DRIVE.match(path) is not None
        or any(segment in ("..", ".") for segment in segments)
        or "" in segments[1:-1]
    )
