"""Hostile input: oversized, deep and slow requests get MLflow's errors, never 500.

A server of its own with small limits, so each limit is reached cheaply.
"""

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.support.auth import call, provisioned_tenant
from tests.support.server import free_port, running_server
from tracker.commands.validation import MAX_METRICS_PER_BATCH
from tracker.config import Settings
from tracker.http.limits import MAX_LIST_ITEMS, MAX_STRING_LENGTH

BODY_LIMIT = 64 * 1024
SLOW_SECONDS = 0.5


@pytest.fixture(scope="module")
def server(cluster_url: str) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=provisioned_tenant(cluster_url, "limits"),
        max_body_bytes=BODY_LIMIT,
        body_read_timeout=SLOW_SECONDS,
        keepalive_timeout=SLOW_SECONDS,
    )
    with running_server(settings) as uri:
        yield uri


@pytest.fixture(scope="module")
def roomy_server(cluster_url: str) -> Iterator[str]:
    """The default body limit, for requests that are large but not too large."""
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=provisioned_tenant(cluster_url, "limits-roomy"),
    )
    with running_server(settings) as uri:
        yield uri


def post(server: str, route: str, body: object) -> tuple[int, dict[str, str]]:
    answer = call(server, "POST", f"/api/2.0/mlflow/{route}", json=body)
    return answer.status_code, answer.json()


def test_a_body_over_the_limit_is_413_with_mlflows_error_body(server: str) -> None:
    status, body = post(server, "experiments/create", {"name": "x" * BODY_LIMIT})

    assert status == 413
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert str(BODY_LIMIT) in body["message"]


@pytest.mark.parametrize("depth", [50, 5000])
def test_deeply_nested_json_is_a_bad_request(server: str, depth: int) -> None:
    nested = "[" * depth + '"leaf"' + "]" * depth

    answer = call(
        server,
        "POST",
        "/api/2.0/mlflow/runs/search",
        data=f'{{"filter": {nested}}}',
        headers={"Content-Type": "application/json"},
    )

    status, body = answer.status_code, answer.json()
    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "nests deeper" in body["message"]


def test_an_over_long_string_field_is_refused_by_name(roomy_server: str) -> None:
    status, body = post(
        roomy_server, "runs/create", {"run_name": "r" * (MAX_STRING_LENGTH + 1)}
    )

    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'run_name'" in body["message"]


def test_an_over_long_list_is_refused_by_name(roomy_server: str) -> None:
    ids = [str(index) for index in range(MAX_LIST_ITEMS + 1)]

    status, body = post(roomy_server, "runs/search", {"experiment_ids": ids})

    assert status == 400
    assert "'experiment_ids'" in body["message"]


def test_a_batch_over_mlflows_size_is_refused(roomy_server: str) -> None:
    metrics = [
        {"key": f"m{index}", "value": 1.0, "timestamp": 1, "step": 0}
        for index in range(MAX_METRICS_PER_BATCH + 1)
    ]

    status, body = post(
        roomy_server, "runs/log-batch", {"run_id": "0" * 32, "metrics": metrics}
    )

    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_page_over_the_limit_is_refused(roomy_server: str) -> None:
    status, body = post(roomy_server, "runs/search", {"max_results": 50001})

    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"


def _connect(server: str) -> socket.socket:
    address = urlsplit(server)
    connection = socket.create_connection((address.hostname, address.port))
    # Bounds every read below: a server that never answers fails the test.
    connection.settimeout(SLOW_SECONDS * 20)
    return connection


def test_a_client_that_stalls_in_its_body_gets_an_error_not_a_hang(
    server: str,
) -> None:
    path = urlsplit(server).path + "/api/2.0/mlflow/experiments/create"
    with _connect(server) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: test\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            '{"name": '.encode()
        )

        answer = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 400")
    assert b"did not arrive within" in answer


def test_an_idle_connection_is_closed(server: str) -> None:
    with _connect(server) as connection:
        # Nothing is sent; the server hangs up when its keep-alive ends.
        assert connection.recv(4096) == b""


def test_a_client_that_stalls_in_its_headers_is_cut_off(server: str) -> None:
    with _connect(server) as connection:
        connection.sendall(b"GET /mlflow/health HTTP/1.1\r\nHost: te")

        assert connection.recv(4096) == b""


def test_a_nul_character_in_any_field_is_refused_by_name(roomy_server: str) -> None:
    answer = call(
        roomy_server,
        "GET",
        "/api/2.0/mlflow/artifacts/list",
        params={"run_uuid": "abc\x00def"},
    )

    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'run_uuid'" in answer.json()["message"]
