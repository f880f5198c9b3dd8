"""Handlers of the artifact service, ``/mlflow-artifacts/...``, and run listings.

Bytes travel between the client and the tenant's bucket: streamed through
this server for plain PUT and GET (never held whole in memory), or straight
to S3 through presigned URLs for multipart uploads.  Every completed upload
and every delete is recorded in the log; listings read the log's record.
"""

import contextlib
import mimetypes
import posixpath
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from projections.queries.artifacts import files_under, list_directory, stored_file
from tracker.api import messages as m
from tracker.api.fields import required, respond, run_id_of
from tracker.artifacts.paths import (
    ArtifactOwner,
    bucket_path,
    resolve_owner,
    resolve_run_file,
    safe_path,
)
from tracker.commands import artifacts as commands
from tracker.errors import InvalidParameter, NotFound, TrackerError
from tracker.http.keys import SETTINGS
from tracker.http.request_parsing import parse
from tracker.http.tenants import object_store, reading, tenant_for, writing

CHUNK_BYTES = 1024 * 1024
MAX_PRESIGN_EXPIRY = 7 * 24 * 3600

log = structlog.get_logger("calabi.artifacts")


async def upload_artifact(request: web.Request) -> web.Response:
    path = safe_path(request.match_info["path"])
    owner = await _owner(request, path)
    if not owner.relative:
        raise InvalidParameter(f"Invalid path: {path!r} names a folder, not a file")
    store = await object_store(request)

    stored = await store.put_stream(
        owner.key(), _body(request), content_type=request.content_type or None
    )

    async with writing(request) as tx:
        await commands.record_stored(
            tx, owner, size=stored.size, etag=stored.etag, version_id=stored.version_id
        )

    return respond()


async def download_artifact(request: web.Request) -> web.StreamResponse:
    path = safe_path(request.match_info["path"])
    owner = await _owner(request, path)
    async with reading(request) as connection:
        found = await stored_file(connection, owner.root, owner.relative)
    if found is None:
        raise NotFound(f"No such artifact: {path!r}")
    store = await object_store(request)
    settings = request.app[SETTINGS]

    if settings.artifact_redirects:
        url = await store.presign_get(
            owner.key(), settings.presigned_url_expiry, version_id=found.version_id
        )
        raise web.HTTPFound(url)

    stream = await store.get_stream(
        owner.key(), byte_range=_byte_range(request), version_id=found.version_id
    )
    response = web.StreamResponse(
        status=206 if stream.content_range else 200,
        headers={
            "Content-Type": _content_type(path),
            "Content-Disposition": f'attachment; filename="{posixpath.basename(path)}"',
            "X-Content-Type-Options": "nosniff",
            "Accept-Ranges": "bytes",
        },
    )
    response.content_length = stream.content_length
    if stream.content_range:
        response.headers["Content-Range"] = stream.content_range
    await response.prepare(request)
    try:
        async with stream:
            async for chunk in stream:
                await response.write(chunk)
    except TrackerError as error:
        # The status line is sent, so no error response can follow it: the
        # client learns of the failure from a body cut short of its length.
        log.warning("artifact_download_cut", key=owner.key(), error=error.message)
        if request.transport is not None:
            request.transport.close()
        return response
    await response.write_eof()

    return response


async def list_artifacts(request: web.Request) -> web.Response:
    """The artifact service's listing: base names, relative to ``path``."""
    message = await parse(request, m.ListArtifactsByPath)
    path = safe_path(message.path or "")
    owner = await _owner(request, path)

    async with reading(request) as connection:
        files = await list_directory(connection, owner.root, owner.relative)

    return respond({"files": files} if files else {})


async def delete_artifact(request: web.Request) -> web.Response:
    path = safe_path(request.match_info["path"])
    owner = await _owner(request, path)
    async with reading(request) as connection:
        files = await files_under(connection, owner.root, owner.relative)
    store = await object_store(request)

    deleted: list[tuple[str, str | None]] = []
    try:
        for file in files:
            marker = await store.delete(owner.key(file.path))
            deleted.append((file.path, marker))
    finally:
        # Files gone from the bucket before a failure are recorded as gone,
        # so that the listing does not offer what is no longer there.
        if deleted:
            async with writing(request) as tx:
                await commands.record_deleted(tx, owner, deleted)

    return respond()


async def list_run_artifacts(request: web.Request) -> web.Response:
    """The tracking API's listing: paths relative to the run's root."""
    message = await parse(request, m.ListRunArtifacts)
    run_id = run_id_of(message)
    relative = safe_path(message.path or "")
    async with reading(request) as connection:
        artifact_uri = await connection.fetchval(
            "SELECT artifact_uri FROM rm.runs WHERE run_id = $1", run_id
        )
        if artifact_uri is None:
            raise NotFound(f"Run with id={run_id} not found")
        root = bucket_path(artifact_uri)
        files = (
            await list_directory(connection, root, relative) if root is not None else []
        )

    answer: dict[str, object] = {"root_uri": artifact_uri}
    if files:
        answer["files"] = [
            file.__class__(
                path=f"{relative}/{file.path}" if relative else file.path,
                is_dir=file.is_dir,
                file_size=file.file_size,
            )
            for file in files
        ]

    return respond(answer)


# Multipart uploads through presigned URLs --------------------------------


async def create_multipart_upload(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateMultipartUpload)
    owner = await _file_owner(request, message.path)
    parts = message.num_parts or 0
    if not 1 <= parts <= 10000:
        raise InvalidParameter("'num_parts' must be between 1 and 10000")
    store = await object_store(request)
    expiry = request.app[SETTINGS].presigned_url_expiry

    upload_id = await store.create_multipart(owner.key())
    try:
        credentials = [
            {
                "url": await store.presign_part(owner.key(), upload_id, number, expiry),
                "part_number": number,
                "headers": {},
            }
            for number in range(1, parts + 1)
        ]
    except BaseException:
        # The client never learns the upload's id, so nobody else can end it;
        # if even the abort fails, the sweep of stale uploads ends it later.
        with contextlib.suppress(TrackerError):
            await store.abort_multipart(owner.key(), upload_id)
        raise

    return respond({"upload_id": upload_id, "credentials": credentials})


async def complete_multipart_upload(request: web.Request) -> web.Response:
    message = await parse(request, m.CompleteMultipartUpload)
    owner = await _file_owner(request, message.path)
    upload_id = required(message.upload_id, "upload_id")
    parts = [
        (part.part_number, required(part.etag, "parts.etag")) for part in message.parts
    ]
    store = await object_store(request)

    stored = await store.complete_multipart(owner.key(), upload_id, parts)

    async with writing(request) as tx:
        await commands.record_stored(
            tx, owner, size=stored.size, etag=stored.etag, version_id=stored.version_id
        )

    return respond()


async def abort_multipart_upload(request: web.Request) -> web.Response:
    message = await parse(request, m.AbortMultipartUpload)
    owner = await _file_owner(request, message.path)
    store = await object_store(request)

    await store.abort_multipart(owner.key(), required(message.upload_id, "upload_id"))

    return respond()


async def presigned_download(request: web.Request) -> web.Response:
    """The 3.x client's ranged-download probe: a URL straight to S3."""
    path = safe_path(request.match_info["path"])
    owner = await _owner(request, path)
    async with reading(request) as connection:
        found = await stored_file(connection, owner.root, owner.relative)
    if found is None:
        raise NotFound(f"No such artifact: {path!r}")
    store = await object_store(request)

    url = await store.presign_get(
        owner.key(),
        request.app[SETTINGS].presigned_url_expiry,
        version_id=found.version_id,
    )

    return respond({"url": url, "headers": {}, "file_size": found.size})


# Presigned URLs for browsers and tools -----------------------------------


async def presigned_upload_url(request: web.Request) -> web.Response:
    """A presigned PUT URL for one file of a run; confirm it once uploaded."""
    message = await parse(request, m.PresignedUrlRequest)
    owner = await _run_file_owner(request, message)
    store = await object_store(request)

    url = await store.presign_put(owner.key(), _expiry(request, message.expiration))

    return respond({"presigned_url": url, "headers": {}})


async def presigned_download_url(request: web.Request) -> web.Response:
    message = await parse(request, m.PresignedUrlRequest)
    owner = await _run_file_owner(request, message)
    async with reading(request) as connection:
        found = await stored_file(connection, owner.root, owner.relative)
    if found is None:
        raise NotFound(f"No such artifact: {owner.relative!r}")
    store = await object_store(request)

    url = await store.presign_get(
        owner.key(),
        _expiry(request, message.expiration),
        version_id=found.version_id,
    )

    return respond({"presigned_url": url, "headers": {}, "file_size": found.size})


async def confirm_upload(request: web.Request) -> web.Response:
    """Record a file uploaded through a presigned URL, as S3 now holds it."""
    message = await parse(request, m.PresignedUrlRequest)
    owner = await _run_file_owner(request, message)
    store = await object_store(request)

    info = await store.head(owner.key())
    if info is None:
        raise NotFound(f"No uploaded file at {owner.relative!r}")

    async with writing(request) as tx:
        await commands.record_stored(
            tx, owner, size=info.size, etag=info.etag, version_id=info.version_id
        )

    return respond()


# Helpers -------------------------------------------------------------------


async def _owner(request: web.Request, path: str) -> ArtifactOwner:
    tenant = await tenant_for(request)
    async with tenant.pool.acquire() as connection:
        return await resolve_owner(connection, path)


async def _file_owner(request: web.Request, name: str | None) -> ArtifactOwner:
    directory = safe_path(request.match_info["path"])
    # Clients before 3.18 sent the whole local path; the file's name is what counts.
    file_name = posixpath.basename(required(name, "path").replace("\\", "/"))
    if not file_name:
        raise InvalidParameter("Missing value for required parameter 'path'.")

    return await _owner(request, safe_path(f"{directory}/{file_name}"))


async def _run_file_owner(
    request: web.Request, message: m.PresignedUrlRequest
) -> ArtifactOwner:
    run_id = required(message.run_id, "run_id")
    relative = safe_path(required(message.path, "path"))
    if not relative:
        raise InvalidParameter("Invalid path: '' names a folder, not a file")
    tenant = await tenant_for(request)
    async with tenant.pool.acquire() as connection:
        return await resolve_run_file(connection, run_id, relative)


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body in chunks; a body cut short is the caller's error."""
    try:
        async for chunk in request.content.iter_chunked(CHUNK_BYTES):
            yield chunk
    except (ConnectionError, HttpProcessingError) as error:
        # The client went away or broke the framing before the body ended.
        # Raised as the caller's error, not as a failure of this server.
        raise InvalidParameter(
            f"The upload's body ended before it was complete: {error}"
        ) from error


def _expiry(request: web.Request, asked: int | None) -> int:
    if asked is None:
        return request.app[SETTINGS].presigned_url_expiry
    if not 1 <= asked <= MAX_PRESIGN_EXPIRY:
        msg = f"'expiration' must be between 1 and {MAX_PRESIGN_EXPIRY} seconds"
        raise InvalidParameter(msg)
    return asked


def _byte_range(request: web.Request) -> tuple[int, int | None] | None:
    try:
        asked = request.http_range
    except ValueError:
        raise InvalidParameter("Malformed Range header") from None
    if asked.start is None:
        return None
    if asked.start < 0:
        raise InvalidParameter("Suffix byte ranges are not supported")
    end = asked.stop - 1 if asked.stop is not None else None

    return (asked.start, end)


def _content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"
