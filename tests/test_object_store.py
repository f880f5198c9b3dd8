"""The artifact object store against a real S3-compatible server (SeaweedFS)."""

import asyncio
import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from yarl import URL

from tests.support.s3 import settings_for, start_test_s3
from tests.support.server import free_port
from tracker.embedded.seaweed import S3Endpoint
from tracker.errors import InvalidParameter, NotFound, Unavailable
from tracker.storage.multipart import PARTS_IN_FLIGHT
from tracker.storage.s3 import (
    PART_SIZE,
    ObjectStore,
    S3Client,
    S3Settings,
    open_s3,
)

MiB = 1024 * 1024
SOURCE_CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    server, endpoint = start_test_s3(Path(tmp_path_factory.mktemp("s3")))

    yield endpoint

    server.stop()


@pytest.fixture(scope="module")
async def s3_client(s3_endpoint: S3Endpoint) -> AsyncIterator[S3Client]:
    async with open_s3(settings_for(s3_endpoint)) as client:
        yield client


@pytest.fixture
async def store(s3_client: S3Client, unique: str) -> ObjectStore:
    """A versioned bucket of its own for each test."""
    store = ObjectStore(s3_client, f"artifacts-{unique}")
    await store.ensure_bucket(versioning=True)
    return store


async def chunks_of(data: bytes, size: int = SOURCE_CHUNK) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def random_chunks(total: int, *, seed: int) -> AsyncIterator[bytes]:
    """``total`` pseudo-random bytes, made chunk by chunk and never held whole."""
    rng = random.Random(seed)
    for start in range(0, total, SOURCE_CHUNK):
        yield rng.randbytes(min(SOURCE_CHUNK, total - start))


def sha256_of_random(total: int, *, seed: int) -> str:
    rng = random.Random(seed)
    digest = hashlib.sha256()
    for start in range(0, total, SOURCE_CHUNK):
        digest.update(rng.randbytes(min(SOURCE_CHUNK, total - start)))
    return digest.hexdigest()


async def read_all(
    store: ObjectStore,
    key: str,
    *,
    byte_range: tuple[int, int | None] | None = None,
    version_id: str | None = None,
) -> bytes:
    stream = await store.get_stream(key, byte_range=byte_range, version_id=version_id)
    return b"".join([chunk async for chunk in stream])


async def pending_uploads(store: ObjectStore) -> list[dict[str, object]]:
    page = await store.client.list_multipart_uploads(Bucket=store.bucket)
    uploads: list[dict[str, object]] = page.get("Uploads", [])
    return uploads


async def test_ensure_bucket_turns_versioning_on_and_is_idempotent(
    s3_client: S3Client, unique: str
) -> None:
    store = ObjectStore(s3_client, f"fresh-{unique}")

    assert await store.ensure_bucket(versioning=True)
    assert await store.ensure_bucket(versioning=True)


async def test_small_body_round_trips_in_a_single_put(store: ObjectStore) -> None:
    body = b"accuracy,0.93\n" * 10

    stored = await store.put_stream(
        "runs/1/metrics.csv", chunks_of(body, 7), content_type="text/csv"
    )
    stream = await store.get_stream("runs/1/metrics.csv")

    assert stored.size == len(body)
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    # A single PutObject's ETag is the body's MD5; a multipart one's is not.
    assert stored.etag == hashlib.md5(body).hexdigest()
    assert stream.content_type == "text/csv"
    assert stream.content_length == len(body)
    assert b"".join([chunk async for chunk in stream]) == body


async def test_empty_body_is_stored_as_an_empty_object(store: ObjectStore) -> None:
    stored = await store.put_stream("empty", chunks_of(b""))

    assert stored.size == 0
    assert await read_all(store, "empty") == b""


async def test_large_body_goes_up_in_parts_and_comes_back_identical(
    store: ObjectStore,
) -> None:
    size = 20 * MiB

    stored = await store.put_stream("model.bin", random_chunks(size, seed=7))
    digest = hashlib.sha256()
    async for chunk in await store.get_stream("model.bin"):
        digest.update(chunk)

    assert stored.etag.endswith("-3"), "8 MiB parts: 8 + 8 + 4 MiB"
    assert stored.size == size
    assert stored.sha256 == sha256_of_random(size, seed=7)
    assert digest.hexdigest() == stored.sha256


async def test_streaming_holds_a_few_parts_in_memory(store: ObjectStore) -> None:
    size = 48 * MiB
    # The first multipart upload loads botocore's models of its operations.
    await store.put_stream("warm-up", random_chunks(PART_SIZE + 1, seed=1))

    tracemalloc.start()
    try:
        await store.put_stream("model.bin", random_chunks(size, seed=8))
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        async for _ in await store.get_stream("model.bin"):
            pass
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # The parts on their way to S3 and the one filling, plus the 1 MiB
    # buffers botocore hashes a body with.
    parts_held = PARTS_IN_FLIGHT + 1
    assert upload_peak < parts_held * PART_SIZE + 4 * MiB < size
    assert download_peak < 2 * MiB


async def test_ranged_get_returns_only_the_range(store: ObjectStore) -> None:
    body = bytes(range(256)) * 100
    await store.put_stream("blob", chunks_of(body))

    middle = await store.get_stream("blob", byte_range=(10, 19))
    middle_bytes = b"".join([chunk async for chunk in middle])
    tail = await read_all(store, "blob", byte_range=(len(body) - 5, None))

    assert middle_bytes == body[10:20]
    assert middle.content_length == 10
    assert middle.content_range == f"bytes 10-19/{len(body)}"
    assert tail == body[-5:]


async def test_range_starting_past_the_end_is_invalid(store: ObjectStore) -> None:
    await store.put_stream("blob", chunks_of(b"0123456789"))

    with pytest.raises(InvalidParameter):
        await store.get_stream("blob", byte_range=(100, None))


async def test_missing_key_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFound, match="artifact 'nothing/here' does not exist"):
        await store.get_stream("nothing/here")

    assert await store.head("nothing/here") is None


async def test_delete_hides_the_object_but_keeps_its_version(
    store: ObjectStore,
) -> None:
    first = await store.put_stream("notes.txt", chunks_of(b"first draft"))
    await store.put_stream("notes.txt", chunks_of(b"second draft"))

    marker = await store.delete("notes.txt")

    assert marker is not None
    assert marker != first.version_id
    assert await store.head("notes.txt") is None
    old = await store.head("notes.txt", first.version_id)
    assert old is not None
    assert old.size == len(b"first draft")
    old_body = await read_all(store, "notes.txt", version_id=first.version_id)
    assert old_body == b"first draft"


async def test_listing_pages_through_every_key_under_the_prefix(
    store: ObjectStore,
) -> None:
    for name in ("e", "c", "a", "d", "b"):
        await store.put_stream(f"runs/7/{name}", chunks_of(name.encode()))
    await store.put_stream("runs/70/other", chunks_of(b"x"))

    listed = [info async for info in store.list_prefix("runs/7/", page_size=2)]

    assert [info.key for info in listed] == [f"runs/7/{n}" for n in "abcde"]
    assert all(info.size == 1 for info in listed)


async def test_presigned_put_then_get_work_over_plain_http(
    store: ObjectStore,
) -> None:
    put_url = await store.presign_put("upload.txt", 60, content_type="text/plain")
    get_url = await store.presign_get("upload.txt", 60)

    async with aiohttp.ClientSession() as http:
        put = await http.put(
            URL(put_url, encoded=True),
            data=b"sent by a client",
            headers={"Content-Type": "text/plain"},
        )
        get = await http.get(URL(get_url, encoded=True))
        got = await get.read()

    assert put.status == 200
    assert get.status == 200
    assert got == b"sent by a client"


async def test_presigned_get_of_an_old_version_serves_that_version(
    store: ObjectStore,
) -> None:
    first = await store.put_stream("config.yaml", chunks_of(b"lr: 0.1"))
    await store.put_stream("config.yaml", chunks_of(b"lr: 0.2"))

    url = await store.presign_get("config.yaml", 60, first.version_id)
    async with aiohttp.ClientSession() as http:
        response = await http.get(URL(url, encoded=True))
        body = await response.read()

    assert body == b"lr: 0.1"


async def test_presigned_url_for_one_key_opens_no_other(store: ObjectStore) -> None:
    await store.put_stream("key-a", chunks_of(b"a"))
    await store.put_stream("key-b", chunks_of(b"b"))
    get_a = await store.presign_get("key-a", 60)
    put_a = await store.presign_put("key-a", 60)

    async with aiohttp.ClientSession() as http:
        moved_get = await http.get(
            URL(get_a.replace("/key-a?", "/key-b?"), encoded=True)
        )
        moved_put = await http.put(
            URL(put_a.replace("/key-a?", "/key-c?"), encoded=True), data=b"evil"
        )

    assert moved_get.status == 403
    assert moved_put.status == 403
    assert await store.head("key-c") is None


async def test_presigned_url_with_a_tampered_signature_is_refused(
    store: ObjectStore,
) -> None:
    await store.put_stream("secret", chunks_of(b"s"))
    url = URL(await store.presign_get("secret", 60), encoded=True)
    signature = url.query["X-Amz-Signature"]
    forged = url.update_query({"X-Amz-Signature": signature[::-1]})

    async with aiohttp.ClientSession() as http:
        response = await http.get(forged)

    assert response.status == 403


async def test_presigned_multipart_parts_complete_into_one_object(
    store: ObjectStore,
) -> None:
    parts_data = [b"a" * (5 * MiB), b"tail"]
    upload_id = await store.create_multipart("dataset.bin")

    parts: list[tuple[int, str]] = []
    for number, data in enumerate(parts_data, start=1):
        url = await store.presign_part("dataset.bin", upload_id, number, 60)
        response = await asyncio.to_thread(requests.put, url, data=data, timeout=60)
        assert response.status_code == 200
        parts.append((number, response.headers["ETag"]))
    stored = await store.complete_multipart("dataset.bin", upload_id, parts)

    assert stored.size == sum(map(len, parts_data))
    assert await read_all(store, "dataset.bin") == b"".join(parts_data)
    assert await pending_uploads(store) == []


async def test_completing_an_unknown_upload_is_invalid(store: ObjectStore) -> None:
    with pytest.raises(InvalidParameter, match="multipart upload 'no-such-upload'"):
        await store.complete_multipart("x", "no-such-upload", [(1, "etag")])


async def test_failing_source_leaves_no_upload_and_no_object(
    store: ObjectStore,
) -> None:
    async def breaks_midway() -> AsyncIterator[bytes]:
        async for chunk in random_chunks(10 * MiB, seed=3):
            yield chunk
        raise RuntimeError("the client went away")

    with pytest.raises(RuntimeError, match="the client went away"):
        await store.put_stream("partial.bin", breaks_midway())

    assert await pending_uploads(store) == []
    assert await store.head("partial.bin") is None


async def test_cancelled_upload_leaves_no_upload(store: ObjectStore) -> None:
    second_part_started = asyncio.Event()

    async def stalls_in_second_part() -> AsyncIterator[bytes]:
        async for chunk in random_chunks(PART_SIZE + SOURCE_CHUNK, seed=4):
            yield chunk
        second_part_started.set()
        await asyncio.Event().wait()
        yield b"never"

    upload = asyncio.create_task(store.put_stream("stalled", stalls_in_second_part()))
    await second_part_started.wait()
    assert len(await pending_uploads(store)) == 1
    upload.cancel()

    with pytest.raises(asyncio.CancelledError):
        await upload
    assert await pending_uploads(store) == []


async def test_stale_multipart_uploads_are_aborted(store: ObjectStore) -> None:
    await store.create_multipart("forgotten-1")
    await store.create_multipart("forgotten-2")

    recent_kept = await store.abort_stale_multiparts(older_than_seconds=3600)
    aborted = await store.abort_stale_multiparts(older_than_seconds=0)

    assert recent_kept == 0
    assert aborted == 2
    assert await pending_uploads(store) == []


async def test_closed_streams_give_their_connections_back(store: ObjectStore) -> None:
    await store.put_stream("big", random_chunks(2 * MiB, seed=5))

    # More streams than the client's pool has connections: a leaked one
    # would make a later request wait for a free connection forever.
    for _ in range(40):
        async with await store.get_stream("big") as stream:
            await anext(stream)

    assert await store.head("big") is not None


async def test_unreachable_store_is_unavailable(unique: str) -> None:
    closed = S3Settings(
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key="nobody",
        secret_key="nothing",
    )

    async with open_s3(closed) as client:
        store = ObjectStore(client, f"artifacts-{unique}")
        with pytest.raises(Unavailable, match="artifact store unavailable"):
            await store.head("anything")
