"""What the artifact service refuses: escapes, other runs' files, widened URLs.

Also how it fails: an S3 outage is a 503 the client can retry, and an upload
that breaks off leaves nothing behind, neither an event nor a part upload.
"""

import asyncio
import http.client
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.s3 import settings_for, start_test_s3
from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.config import S3Settings, Settings
from tracker.eventlog.codec import codec
from tracker.eventlog.events import ArtifactStored
from tracker.storage.s3 import ObjectStore, S3Client, open_s3
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_bucket, tenant_database

MiB = 1024 * 1024
# Bounds on waiting for the server thread to act on a connection it lost.
SETTLE_SECONDS = 15.0
POLL_SECONDS = 0.02


@pytest.fixture
def run_id(client: MlflowClient) -> str:
    created: str = client.create_run("0").info.run_id
    return created


@pytest.fixture
def other_run_id(client: MlflowClient, unique: str) -> str:
    """A run in an experiment of its own, so its root has another prefix."""
    experiment_id = client.create_experiment(f"security-{unique}")
    created: str = client.create_run(experiment_id).info.run_id
    return created


@pytest.fixture
async def s3_client(s3_settings: S3Settings) -> AsyncIterator[S3Client]:
    async with open_s3(s3_settings) as client:
        yield client


@pytest.fixture
def bucket(s3_client: S3Client) -> ObjectStore:
    """The default tenant's artifact bucket, looked at from outside the server."""
    return ObjectStore(s3_client, tenant_bucket("default"))


def root_of(client: MlflowClient, run_id: str) -> str:
    """A run's root in the bucket, such as ``0/<run_id>/artifacts``."""
    uri = client.get_run(run_id).info.artifact_uri
    return str(uri).removeprefix("mlflow-artifacts:").strip("/")


def service(tracking_uri: str, route: str) -> str:
    return f"{tracking_uri}/api/2.0/mlflow-artifacts/{route}"


def tracking(tracking_uri: str, route: str) -> str:
    return f"{tracking_uri}/api/2.0/mlflow/{route}"


def raw_request(
    method: str, url: str, body: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    """Send the URL's path byte for byte: requests would resolve ``..`` first."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, parts.path, body=body)
        response = connection.getresponse()
        answer: dict[str, Any] = json.loads(response.read())
        return response.status, answer
    finally:
        connection.close()


def presign_upload(
    tracking_uri: str, run_id: str, path: str, **fields: Any
) -> requests.Response:
    return requests.post(
        tracking(tracking_uri, "artifacts/presigned-upload-url"),
        json={"run_id": run_id, "path": path, **fields},
        timeout=30,
    )


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def listed(client: MlflowClient, run_id: str) -> dict[str, int | None]:
    return {info.path: info.file_size for info in client.list_artifacts(run_id)}


async def stored_paths(connection: asyncpg.Connection, run_id: str) -> list[str]:
    rows = await connection.fetch(
        "SELECT event_type, schema_version, data FROM es.events"
        " WHERE stream_id = $1 AND event_type = 'ArtifactStored' ORDER BY position",
        f"run-{run_id}",
    )
    events = [codec.decode(*row) for row in rows]
    return [event.path for event in events if isinstance(event, ArtifactStored)]


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait, within a bound, for a state another thread brings about.

    The server reacts to a lost connection on its own thread and tells nobody:
    the test can only watch the bucket until the reaction shows.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    while not await condition():
        assert time.monotonic() < deadline, "the expected state never came"
        await asyncio.sleep(POLL_SECONDS)


# Paths that escape ----------------------------------------------------------

ESCAPES = [
    pytest.param("../x", id="dot-dot"),
    pytest.param("a/../../x", id="dot-dot-inside"),
    pytest.param("%2e%2e/x", id="encoded-dot-dot"),
    pytest.param("%252e%252e/x", id="double-encoded-dot-dot"),
    pytest.param("..%2fx", id="encoded-slash"),
    pytest.param("a\\..\\x", id="backslashes"),
    pytest.param("./x", id="dot"),
    pytest.param("a//x", id="empty-segment"),
]


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
@pytest.mark.parametrize("escape", ESCAPES)
def test_artifact_service_refuses_a_path_that_escapes_the_run(
    client: MlflowClient, run_id: str, tracking_uri: str, method: str, escape: str
) -> None:
    url = service(tracking_uri, f"artifacts/{root_of(client, run_id)}/{escape}")

    status, answer = raw_request(method, url, b"x" if method == "PUT" else None)

    assert status == 400
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert answer["message"].startswith("Invalid path")


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_artifact_service_refuses_an_absolute_path(
    tracking_uri: str, method: str
) -> None:
    url = service(tracking_uri, "artifacts//etc/passwd")

    status, answer = raw_request(method, url, b"x" if method == "PUT" else None)

    assert status == 400
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"


def test_refused_upload_stores_nothing(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    url = service(tracking_uri, f"artifacts/{root_of(client, run_id)}/a/../b.txt")

    raw_request("PUT", url, b"x")

    assert listed(client, run_id) == {}


@pytest.mark.parametrize("escape", [*ESCAPES, "/etc/passwd", "C:/x"])
def test_run_listing_refuses_a_path_that_escapes_the_run(
    run_id: str, tracking_uri: str, escape: str
) -> None:
    response = requests.get(
        tracking(tracking_uri, "artifacts/list"),
        params={"run_id": run_id, "path": escape},
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("escape", [*ESCAPES, "/etc/passwd", "C:/x"])
def test_presigned_upload_url_refuses_a_path_that_escapes_the_run(
    run_id: str, tracking_uri: str, escape: str
) -> None:
    response = presign_upload(tracking_uri, run_id, escape)

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_multipart_upload_refuses_a_file_name_that_escapes(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    response = requests.post(
        service(tracking_uri, f"mpu/create/{root_of(client, run_id)}"),
        json={"path": "..", "num_parts": 1},
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# Other runs' files -------------------------------------------------------------


def test_path_of_a_run_that_does_not_exist_is_not_found(tracking_uri: str) -> None:
    url = service(tracking_uri, f"artifacts/0/{'a' * 32}/artifacts/x.txt")

    response = requests.put(url, data=b"x", timeout=30)

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_run_under_another_experiments_prefix_is_not_found(
    client: MlflowClient, run_id: str, other_run_id: str, tracking_uri: str
) -> None:
    other_prefix = root_of(client, other_run_id).split("/")[0]
    url = service(tracking_uri, f"artifacts/{other_prefix}/{run_id}/artifacts/x.txt")

    response = requests.put(url, data=b"x", timeout=30)

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert listed(client, run_id) == {}


def test_path_outside_every_artifact_root_is_not_found(tracking_uri: str) -> None:
    response = requests.put(
        service(tracking_uri, "artifacts/loose/file.txt"), data=b"x", timeout=30
    )

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_path_from_one_run_into_another_runs_root_is_refused(
    client: MlflowClient, run_id: str, other_run_id: str, tracking_uri: str
) -> None:
    nested = f"{root_of(client, run_id)}/{root_of(client, other_run_id)}/x.txt"

    response = requests.put(
        service(tracking_uri, f"artifacts/{nested}"), data=b"x", timeout=30
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert listed(client, other_run_id) == {}


def test_presigned_upload_url_refuses_a_path_naming_another_runs_root(
    client: MlflowClient, run_id: str, other_run_id: str, tracking_uri: str
) -> None:
    response = presign_upload(
        tracking_uri, run_id, f"{root_of(client, other_run_id)}/x.txt"
    )

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_presigned_upload_url_of_an_unknown_run_is_not_found(
    tracking_uri: str,
) -> None:
    response = presign_upload(tracking_uri, "f" * 32, "x.txt")

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_presigned_upload_url_needs_a_file_not_the_root(
    run_id: str, tracking_uri: str
) -> None:
    response = presign_upload(tracking_uri, run_id, "")

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# Presigned URLs ------------------------------------------------------------------


def test_presigned_upload_then_confirm_lists_and_serves_the_file(
    client: MlflowClient, run_id: str, tracking_uri: str, tmp_path: Path
) -> None:
    url = presign_upload(tracking_uri, run_id, "direct/data.csv").json()
    uploaded = requests.put(url["presigned_url"], data=b"a,b\n1,2\n", timeout=30)
    uploaded.raise_for_status()

    confirmed = requests.post(
        tracking(tracking_uri, "artifacts/confirm-upload"),
        json={"run_id": run_id, "path": "direct/data.csv"},
        timeout=30,
    )

    assert confirmed.status_code == 200
    assert client.list_artifacts(run_id, "direct")[0].file_size == 8
    local = client.download_artifacts(run_id, "direct/data.csv", str(tmp_path))
    assert Path(local).read_bytes() == b"a,b\n1,2\n"


def test_presigned_upload_is_not_listed_before_it_is_confirmed(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    url = presign_upload(tracking_uri, run_id, "pending.txt").json()

    requests.put(url["presigned_url"], data=b"x", timeout=30).raise_for_status()

    assert listed(client, run_id) == {}


def test_confirm_upload_of_a_file_never_uploaded_is_not_found(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    response = requests.post(
        tracking(tracking_uri, "artifacts/confirm-upload"),
        json={"run_id": run_id, "path": "never.txt"},
        timeout=30,
    )

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert listed(client, run_id) == {}


async def test_presigned_upload_url_cannot_write_another_key(
    client: MlflowClient,
    run_id: str,
    other_run_id: str,
    tracking_uri: str,
    bucket: ObjectStore,
) -> None:
    url = presign_upload(tracking_uri, run_id, "mine.txt").json()["presigned_url"]
    own_key = f"{root_of(client, run_id)}/mine.txt"
    other_key = f"{root_of(client, other_run_id)}/mine.txt"
    moved = url.replace(f"/{own_key}?", f"/{other_key}?")
    assert moved != url

    response = await asyncio.to_thread(requests.put, moved, data=b"x", timeout=30)

    assert response.status_code == 403
    assert await bucket.head(other_key) is None


def test_presigned_url_carries_the_expiry_asked_for(
    run_id: str, tracking_uri: str
) -> None:
    url = presign_upload(tracking_uri, run_id, "soon.txt", expiration=42).json()

    query = dict(parse_qsl(urlsplit(url["presigned_url"]).query))

    assert query["X-Amz-Expires"] == "42"


def test_presigned_url_defaults_to_the_servers_short_expiry(
    run_id: str, tracking_uri: str, settings: Settings
) -> None:
    url = presign_upload(tracking_uri, run_id, "soon.txt").json()

    query = dict(parse_qsl(urlsplit(url["presigned_url"]).query))

    assert query["X-Amz-Expires"] == str(settings.presigned_url_expiry)


@pytest.mark.parametrize("expiration", [0, -5, 7 * 24 * 3600 + 1])
def test_presigned_url_expiry_out_of_range_is_refused(
    run_id: str, tracking_uri: str, expiration: int
) -> None:
    response = presign_upload(tracking_uri, run_id, "x.txt", expiration=expiration)

    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_presigned_url_with_a_widened_expiry_is_refused_by_s3(
    run_id: str, tracking_uri: str
) -> None:
    url = presign_upload(tracking_uri, run_id, "x.txt", expiration=5).json()

    widened = with_query(url["presigned_url"], **{"X-Amz-Expires": "604800"})
    response = requests.put(widened, data=b"x", timeout=30)

    assert response.status_code == 403


def test_presigned_url_with_a_tampered_signature_is_refused_by_s3(
    run_id: str, tracking_uri: str
) -> None:
    url = presign_upload(tracking_uri, run_id, "x.txt").json()["presigned_url"]
    signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
    flipped = ("1" if signature[0] == "0" else "0") + signature[1:]

    response = requests.put(
        with_query(url, **{"X-Amz-Signature": flipped}), data=b"x", timeout=30
    )

    assert response.status_code == 403


def test_presigned_download_url_serves_the_stored_bytes(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    client.log_text(run_id, "served straight from S3", "out.txt")

    answer = requests.post(
        tracking(tracking_uri, "artifacts/presigned-download-url"),
        json={"run_id": run_id, "path": "out.txt", "expiration": 60},
        timeout=30,
    ).json()

    assert answer["file_size"] == 23
    assert requests.get(answer["presigned_url"], timeout=30).content == (
        b"served straight from S3"
    )


def test_presigned_download_url_of_a_missing_file_is_not_found(
    run_id: str, tracking_uri: str
) -> None:
    response = requests.post(
        tracking(tracking_uri, "artifacts/presigned-download-url"),
        json={"run_id": run_id, "path": "missing.txt"},
        timeout=30,
    )

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_presigned_part_url_cannot_be_used_for_another_part(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    directory = root_of(client, run_id)
    created = requests.post(
        service(tracking_uri, f"mpu/create/{directory}"),
        json={"path": "parts.bin", "num_parts": 1},
        timeout=30,
    ).json()
    url = created["credentials"][0]["url"]

    response = requests.put(with_query(url, partNumber="2"), data=b"x", timeout=30)

    assert response.status_code == 403
    requests.post(
        service(tracking_uri, f"mpu/abort/{directory}"),
        json={"path": "parts.bin", "upload_id": created["upload_id"]},
        timeout=30,
    ).raise_for_status()


# An upload that breaks off -------------------------------------------------------


async def multipart_uploads(s3_client: S3Client, key: str) -> list[str]:
    page = await s3_client.list_multipart_uploads(
        Bucket=tenant_bucket("default"), Prefix=key
    )
    return [upload["UploadId"] for upload in page.get("Uploads", ())]


async def test_upload_cut_off_mid_body_leaves_no_event_and_no_part_upload(
    client: MlflowClient,
    run_id: str,
    tracking_uri: str,
    s3_client: S3Client,
    bucket: ObjectStore,
    tenant_db: asyncpg.Connection,
) -> None:
    key = f"{root_of(client, run_id)}/cut.bin"
    target = urlsplit(service(tracking_uri, f"artifacts/{key}"))
    assert target.hostname is not None
    _, writer = await asyncio.open_connection(target.hostname, target.port)
    writer.write(
        f"PUT {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Content-Length: {20 * MiB}\r\n\r\n".encode()
    )
    # More than one 8 MiB part, so that the server starts a multipart upload.
    writer.write(bytes(10 * MiB))
    await writer.drain()

    async def upload_started() -> bool:
        return bool(await multipart_uploads(s3_client, key))

    async def upload_gone() -> bool:
        return not await multipart_uploads(s3_client, key)

    await eventually(upload_started)
    writer.transport.abort()
    await eventually(upload_gone)

    assert await bucket.head(key) is None
    assert "cut.bin" not in await stored_paths(tenant_db, run_id)
    assert listed(client, run_id) == {}


# An S3 outage ---------------------------------------------------------------------


@dataclass
class Outage:
    """A server of its own whose S3 server was stopped after two uploads.

    ``cut_download`` is the rest of a download that was under way when S3
    stopped.
    """

    tracking_uri: str
    client: MlflowClient
    run_id: str
    root: str
    tenant_db: asyncpg.Connection
    cut_download: Iterator[bytes]


@pytest.fixture(scope="module")
def outage_s3(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, S3Settings]]:
    server, endpoint = start_test_s3(tmp_path_factory.mktemp("outage-s3"))

    yield server, settings_for(endpoint)

    server.stop()


@pytest.fixture(scope="module")
async def outage_tenant(
    cluster_url: str, outage_s3: tuple[Any, S3Settings]
) -> AsyncIterator[tuple[str, asyncpg.Connection]]:
    """A tenant whose bucket is on the S3 server that will stop."""
    _, s3 = outage_s3
    tenant = new_tenant_name("outage")
    await Catalog(cluster_url, s3).create_tenant(tenant)
    connection = await asyncpg.connect(cluster_url, database=tenant_database(tenant))

    yield tenant, connection

    await connection.close()


@pytest.fixture(scope="module")
def outage(
    cluster_url: str,
    outage_s3: tuple[Any, S3Settings],
    outage_tenant: tuple[str, asyncpg.Connection],
) -> Iterator[Outage]:
    s3_server, s3 = outage_s3
    tenant, connection = outage_tenant
    settings = Settings(
        database_url=cluster_url, port=free_port(), default_tenant=tenant, s3=s3
    )

    with running_server(settings) as uri:
        client = MlflowClient(uri)
        run_id = client.create_run("0").info.run_id
        root = root_of(client, run_id)
        client.log_text(run_id, "stored before the outage", "before.txt")
        # Far more than the socket buffers between S3, the server and the
        # client hold, so that most of it is still in S3 when S3 stops.
        big = service(uri, f"artifacts/{root}/big.bin")
        requests.put(big, data=bytes(48 * MiB), timeout=30).raise_for_status()
        download = requests.get(big, stream=True, timeout=30)
        cut_download = download.iter_content(64 * 1024)
        next(cut_download)

        s3_server.stop()

        yield Outage(uri, client, run_id, root, connection, cut_download)

        download.close()


def assert_temporarily_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "artifact store unavailable" in response.json()["message"]
    assert response.headers["Retry-After"]


def test_upload_during_an_s3_outage_is_temporarily_unavailable(
    outage: Outage,
) -> None:
    url = service(outage.tracking_uri, f"artifacts/{outage.root}/during.txt")

    response = requests.put(url, data=b"lost", timeout=30)

    assert_temporarily_unavailable(response)


def test_log_artifact_during_an_s3_outage_fails_on_the_503(
    outage: Outage, tmp_path: Path
) -> None:
    source = tmp_path / "during.txt"
    source.write_text("lost")

    # The stock client treats a 503 as retryable; with its retries used up
    # (none, in these tests) it reports the status, not the body.
    with pytest.raises(MlflowException, match="503"):
        outage.client.log_artifact(outage.run_id, str(source))


async def test_failed_upload_during_an_s3_outage_appends_no_event(
    outage: Outage,
) -> None:
    url = service(outage.tracking_uri, f"artifacts/{outage.root}/unrecorded.txt")

    await asyncio.to_thread(requests.put, url, data=b"lost", timeout=30)

    stored = await stored_paths(outage.tenant_db, outage.run_id)
    assert stored == ["before.txt", "big.bin"]


def test_download_during_an_s3_outage_is_temporarily_unavailable(
    outage: Outage,
) -> None:
    url = service(outage.tracking_uri, f"artifacts/{outage.root}/before.txt")

    assert_temporarily_unavailable(requests.get(url, timeout=30))


def test_delete_during_an_s3_outage_keeps_the_file_listed(outage: Outage) -> None:
    url = service(outage.tracking_uri, f"artifacts/{outage.root}/before.txt")

    response = requests.delete(url, timeout=30)

    assert_temporarily_unavailable(response)
    assert "before.txt" in listed(outage.client, outage.run_id)


def test_multipart_upload_during_an_s3_outage_is_temporarily_unavailable(
    outage: Outage,
) -> None:
    response = requests.post(
        service(outage.tracking_uri, f"mpu/create/{outage.root}"),
        json={"path": "big.bin", "num_parts": 2},
        timeout=30,
    )

    assert_temporarily_unavailable(response)


def test_listing_during_an_s3_outage_answers_from_the_log(outage: Outage) -> None:
    assert listed(outage.client, outage.run_id) == {
        "before.txt": 24,
        "big.bin": 48 * MiB,
    }


def test_download_under_way_when_s3_stops_is_cut_short_not_hung(
    outage: Outage,
) -> None:
    # The status line went out before S3 stopped: the only honest signal left
    # is a body that ends short of its Content-Length, at once.
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for _ in outage.cut_download:
            pass
