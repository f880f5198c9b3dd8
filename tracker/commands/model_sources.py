"""Where a new model version's files are: its source, resolved on the write side.

A version's ``source`` is the URI the client registered; its storage
location is what ``get-download-uri`` answers, and what the stock client
then reads through the artifact service.  Sources that name something in
the tenant's registry or tracking data resolve to the tenant's artifact
store:

* ``runs:/<run_id>/<path>``: the run's artifact root and ``path``;
* ``models:/<model_id>``: the logged model's artifact root (MLflow 3);
* ``models:/<name>/<version>``, ``/<stage>``, ``/latest`` and
  ``@<alias>``: the storage of the version it names;
* ``mlflow-artifacts:/...``: kept, if it lies inside the artifact root of
  the run (``run_id``) or logged model (``model_id``) it came from.

Other remote URIs (``s3://``, ``gs://`` ...) are kept as given, as MLflow
keeps them.  Local paths, ``..`` segments and schemes that make a reader
connect to a host of the client's choosing are refused, as MLflow 3.18's
server refuses them.  Everything is read from decision state and the log
in the command's transaction, never from read models.
"""

import posixpath
import re
from urllib.parse import SplitResult, unquote, unquote_plus, urlsplit

import msgspec

from tracker.commands import registry_validation as rules
from tracker.commands.experiments import ACTIVE
from tracker.db import Connection
from tracker.errors import InvalidParameter, NotFound
from tracker.eventlog.codec import codec
from tracker.eventlog.events import LoggedModelCreated

# The schemes whose readers connect to the host the URI names.
_HOST_ADDRESSED = frozenset(
    {"ftp", "sftp", "hdfs", "viewfs", "http", "https", "r2", "b2", "abfss"}
)
_SLASHES = re.compile(r"/+")


class ResolvedSource(msgspec.Struct, frozen=True):
    """A version's source, where its files are, and what it came from."""

    source: str
    storage_location: str
    run_id: str | None
    model_id: str | None


async def resolve_source(
    connection: Connection,
    source: str,
    *,
    run_id: str | None,
    model_id: str | None,
) -> ResolvedSource:
    """Check a version's source and find its files.

    Args:
        connection: The command's connection, inside its transaction.
        source: The ``source`` of the create request.
        run_id: The request's ``run_id``, if any.
        model_id: The request's ``model_id`` (MLflow 3), if any.

    Returns:
        The source as stored (a registry source is pinned to its version),
        its storage location and the run and logged model it came from.

    Raises:
        InvalidParameter: The source is refused, or names a run, logged
            model or alias that does not exist.
        NotFound: A registry source names a model or version that does not
            exist.
    """
    parts = urlsplit(source)
    scheme = parts.scheme.lower()
    _check_host(source, parts, scheme)
    if scheme == "models":
        _check_no_relative_parts(source)
        return await _from_models_uri(connection, source, parts, run_id, model_id)

    local = scheme in ("", "file")
    if local and not (run_id or model_id):
        raise _local_source(source)
    _check_no_relative_parts(source)

    if model_id:
        return await _from_logged_model_files(
            connection, source, scheme, run_id, model_id
        )
    if scheme == "runs":
        return await _from_runs_uri(connection, source, parts, run_id)
    if local or scheme == "mlflow-artifacts":
        root = await _run_root(connection, run_id, source) if run_id else None
        if root is None or not _within(source, root):
            raise (_local_source(source) if local else _unplaced(source, "run_id"))

    return ResolvedSource(source, source, run_id or None, None)


async def _from_models_uri(
    connection: Connection,
    source: str,
    parts: SplitResult,
    run_id: str | None,
    model_id: str | None,
) -> ResolvedSource:
    if parts.netloc:
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. Registered model sources "
            "must use the active model registry."
        )
    path = parts.path
    segments = path.lstrip("/").split("/")
    if not path.startswith("/") or len(segments) > 2 or not segments[0].strip():
        raise _unplaced(source, "model_id")

    if len(segments) == 1 and "@" not in segments[0]:
        logged_id = segments[0]
        if model_id and model_id != logged_id:
            raise _unplaced(source, "model_id")
        root, source_run = await _logged_model(connection, logged_id, source)
        return ResolvedSource(source, root, run_id or source_run, logged_id)

    name, version = await _registry_version(connection, source, segments)
    row = await connection.fetchrow(
        "SELECT v.storage_location, v.run_id, v.model_id"
        " FROM decision.model_versions v JOIN decision.registered_models m"
        " USING (model_key) WHERE m.name = $1 AND v.version = $2",
        name,
        version,
    )
    if row is None:
        raise NotFound(f"Model Version (name={name}, version={version}) not found")
    if (run_id is not None and run_id != (row["run_id"] or "")) or (
        model_id is not None and model_id != (row["model_id"] or "")
    ):
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. The run_id and model_id "
            "request parameters must match the referenced model version."
        )

    return ResolvedSource(
        f"models:/{name}/{version}",
        row["storage_location"],
        run_id or row["run_id"],
        model_id or row["model_id"],
    )


async def _registry_version(
    connection: Connection, source: str, segments: list[str]
) -> tuple[str, int]:
    """The name and version number a ``models:/`` registry URI names."""
    # The referenced model's row is read, not locked: the command holds its
    # own model's lock, and taking a second one could deadlock two copies
    # made in opposite directions.  Files outlive a version's deletion.
    if len(segments) == 1:
        name, alias = segments[0].rsplit("@", 1)
        if not name or not alias.strip():
            raise _unplaced(source, "model_id")
        version = await connection.fetchval(
            "SELECT a.version FROM decision.registered_model_aliases a"
            " JOIN decision.registered_models m USING (model_key)"
            " WHERE m.name = $1 AND a.alias = $2",
            name,
            alias,
        )
        if version is None:
            await _require_model(connection, name)
            raise InvalidParameter(f"Registered model alias {alias} not found.")
        return name, int(version)

    name, suffix = segments
    if not suffix.strip():
        raise _unplaced(source, "model_id")
    if suffix.isdigit():
        return name, int(suffix)

    stage = None if suffix.lower() == rules.LATEST else rules.canonical_stage(suffix)
    await _require_model(connection, name)
    latest = await connection.fetchval(
        "SELECT max(v.version) FROM decision.model_versions v"
        " JOIN decision.registered_models m USING (model_key)"
        " WHERE m.name = $1 AND ($2::text IS NULL OR v.stage = $2)",
        name,
        stage,
    )
    if latest is None:
        in_stage = f" and stage '{stage}'" if stage else ""
        raise NotFound(f"No versions of model with name '{name}'{in_stage} found")

    return name, int(latest)


async def _from_logged_model_files(
    connection: Connection,
    source: str,
    scheme: str,
    run_id: str | None,
    model_id: str,
) -> ResolvedSource:
    if scheme == "runs":
        raise _unplaced(source, "model_id")

    root, source_run = await _logged_model(connection, model_id, source)
    if scheme in ("", "file", "mlflow-artifacts") and not _within(source, root):
        raise _unplaced(source, "model_id")

    return ResolvedSource(source, source, run_id or source_run, model_id)


async def _from_runs_uri(
    connection: Connection, source: str, parts: SplitResult, run_id: str | None
) -> ResolvedSource:
    # MLflow insists the request's run_id repeat the URI's; a run_id left
    # out is taken from the URI instead, which names the run all the same.
    run_in_uri, _, artifact_path = parts.path.removeprefix("/").partition("/")
    if parts.netloc or not parts.path.startswith("/") or not run_in_uri:
        raise _unplaced(source, "run_id")
    if run_id and run_id != run_in_uri:
        raise _unplaced(source, "run_id")

    root = await _run_root(connection, run_in_uri, source)
    artifact_path = _SLASHES.sub("/", artifact_path).strip("/")
    location = f"{root.rstrip('/')}/{artifact_path}" if artifact_path else root

    return ResolvedSource(source, location, run_in_uri, None)


async def _run_root(connection: Connection, run_id: str, source: str) -> str:
    root: str | None = await connection.fetchval(
        "SELECT artifact_uri FROM decision.runs WHERE run_id = $1", run_id
    )
    if root is None:
        raise _unplaced(source, "run_id")

    return root


async def _logged_model(
    connection: Connection, model_id: str, source: str
) -> tuple[str, str | None]:
    """A live logged model's artifact root and the run that logged it."""
    row = await connection.fetchrow(
        "SELECT artifact_location, lifecycle_stage FROM decision.logged_models"
        " WHERE model_id = $1",
        model_id,
    )
    if row is None or row["lifecycle_stage"] != ACTIVE:
        raise _unplaced(source, "model_id")

    # Decision state keeps no source run; the model's first event names it.
    created = await connection.fetchrow(
        "SELECT event_type, schema_version, data FROM es.events"
        " WHERE stream_id = $1 AND stream_version = 1",
        f"model-{model_id}",
    )
    event = None
    if created is not None:
        event = codec.decode(
            created["event_type"], created["schema_version"], created["data"]
        )
    source_run = event.source_run_id if isinstance(event, LoggedModelCreated) else None

    return row["artifact_location"], source_run


async def _require_model(connection: Connection, name: str) -> None:
    found = await connection.fetchval(
        "SELECT 1 FROM decision.registered_models WHERE name = $1", name
    )
    if found is None:
        raise NotFound(f"Registered Model with name={name} not found")


def _check_host(source: str, parts: SplitResult, scheme: str) -> None:
    if scheme in _HOST_ADDRESSED or (scheme == "mlflow-artifacts" and parts.netloc):
        raise InvalidParameter(
            f"'source' cannot use the '{scheme}' scheme: it names a host other than "
            "this server's artifact store, and readers of the version would "
            "connect to it"
        )


def _check_no_relative_parts(source: str) -> None:
    """Refuse ``..``, ``.`` and NUL however deeply percent-encoded."""
    decoded = source
    while (unquoted := unquote_plus(decoded)) != decoded:
        decoded = unquoted
    path = _SLASHES.sub("/", urlsplit(decoded).path.rstrip("/"))

    relative = path != "" and (
        not path.startswith("/") or posixpath.normpath(path) != path
    )
    if "\x00" in decoded or ".." in decoded.split("/") or relative:
        raise InvalidParameter(
            f"Invalid model version source: '{source}'. If supplying a source as an "
            "http, https, local file path, ftp, objectstore, or mlflow-artifacts "
            "uri, an absolute path must be provided without relative path "
            "references present. Please provide an absolute path."
        )


def _within(source: str, root: str) -> bool:
    """Whether ``source`` lies in the folder ``root``, segment by segment."""
    inner, outer = urlsplit(source), urlsplit(root)
    inner_parts = [unquote(part) for part in inner.path.split("/") if part]
    outer_parts = [unquote(part) for part in outer.path.split("/") if part]

    return (
        inner.scheme.lower() == outer.scheme.lower()
        and inner.netloc.lower() == outer.netloc.lower()
        and bool(outer_parts)
        and inner_parts[: len(outer_parts)] == outer_parts
    )


def _local_source(source: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid model version source: '{source}'. To use a local path as a model "
        "version source, the run_id request parameter has to be specified and the "
        "local path has to be contained within the artifact directory of the run "
        "specified by the run_id."
    )


def _unplaced(source: str, field: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid model version source: '{source}'. The {field} request parameter "
        "must identify the resource that contains the source."
    )
