"""The UI's own artifact routes, beside the artifact service.

``GET <prefix>/get-artifact?path&run_uuid`` and ``GET <prefix>/model-versions/
get-artifact?name&version&path`` name a file by its owner; both are sent on
to the artifact service's download of the same file, which checks the path
and streams the bytes.  ``POST /ajax-api/2.0/mlflow/upload-artifact`` is how
the UI saves a small file (a chart's settings, say) into a run.
"""

from collections.abc import AsyncIterator
from urllib.parse import quote

import msgspec
from aiohttp import web

from projections.queries.registry import model_key_by_name, storage_location
from tracker.api.fields import required, respond
from tracker.artifacts.paths import bucket_path, resolve_run_file, safe_path
from tracker.commands import artifacts as commands
from tracker.errors import InvalidParameter, NotFound, NotImplementedByServer
from tracker.http.keys import SETTINGS
from tracker.http.request_parsing import parse
from tracker.http.tenants import object_store, reading, tenant_for, writing


class RunFile(msgspec.Struct):
    path: str | None = None
    run_id: str | None = None
    run_uuid: str | None = None


class ModelVersionFile(msgspec.Struct):
    name: str | None = None
    version: str | None = None
    path: str | None = None
    presigned: str | None = None


async def get_run_artifact(request: web.Request) -> web.Response:
    message = await parse(request, RunFile)
    run_id = required(message.run_id or message.run_uuid, "run_id")
    relative = _file_path(message.path)

    async with reading(request) as connection:
        artifact_uri = await connection.fetchval(
            "SELECT artifact_uri FROM rm.runs WHERE run_id = $1", run_id
        )
    if artifact_uri is None:
        raise NotFound(f"Run with id={run_id} not found")

    raise _to_artifact_service(request, artifact_uri, relative)


async def get_model_version_artifact(request: web.Request) -> web.Response:
    message = await parse(request, ModelVersionFile)
    name = required(message.name, "name")
    version = required(message.version, "version")
    relative = _file_path(message.path)

    if message.presigned == "true":
        # The UI asks for a presigned URL first and falls back to the file.
        raise NotImplementedByServer("Presigned model version downloads are off")

    async with reading(request) as connection:
        model_key = await model_key_by_name(connection, name)
        location = (
            await storage_location(connection, model_key, int(version))
            if model_key is not None and version.isdigit() and len(version) < 19
            else None
        )
    if location is None:
        raise NotFound(f"Model Version (name={name}, version={version}) not found")

    raise _to_artifact_service(request, location, relative)


async def upload_run_artifact(request: web.Request) -> web.Response:
    run_id = required(
        request.query.get("run_uuid") or request.query.get("run_id"), "run_uuid"
    )
    relative = _file_path(request.query.get("path"))
    tenant = await tenant_for(request)
    async with tenant.pool.acquire() as connection:
        owner = await resolve_run_file(connection, run_id, relative)
    store = await object_store(request)

    # The request middleware has read this POST's body already, within the
    # server's size limit; the UI sends small documents here.
    stored = await store.put_stream(
        owner.key(),
        _once(await request.read()),
        content_type=request.content_type or None,
    )

    async with writing(request) as tx:
        await commands.record_stored(
            tx, owner, size=stored.size, etag=stored.etag, version_id=stored.version_id
        )

    return respond()


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _file_path(raw: str | None) -> str:
    relative = safe_path(required(raw, "path"))
    if not relative:
        raise InvalidParameter("Invalid path: '' names a folder, not a file")
    return relative


def _to_artifact_service(
    request: web.Request, artifact_uri: str, relative: str
) -> web.HTTPFound:
    root = bucket_path(artifact_uri)
    if root is None:
        msg = f"Artifacts at {artifact_uri!r} are not served by this server"
        raise NotImplementedByServer(msg)

    prefix = request.app[SETTINGS].prefix.rstrip("/")
    location = f"{prefix}/ajax-api/2.0/mlflow-artifacts/artifacts/{root}/{relative}"
    return web.HTTPFound(quote(location))
