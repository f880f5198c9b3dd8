"""Credentials never reach the logs, whether they are accepted or refused."""

from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from tests.support.auth import basic, bearer, call, issue_token, provisioned_tenant
from tests.support.server import free_port, running_server
from tracker.auth.roles import Role
from tracker.config import AuthSettings, Settings


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "logs")


@pytest.fixture(scope="module")
def server(cluster_url: str, tenant: str) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=tenant,
        auth=AuthSettings(),
    )
    with running_server(settings) as uri:
        yield uri


def test_no_log_line_holds_a_token_or_authorization_header(
    server: str, cluster_url: str, tenant: str
) -> None:
    good = issue_token(cluster_url, tenant, "logged-user", Role.EDITOR).token
    revoked_looking = good[:-4] + "AAAA"
    search = "/api/2.0/mlflow/experiments/search"

    with capture_logs() as logs:
        call(server, "GET", search, headers=bearer(good))
        call(server, "GET", search, headers=basic("logged-user", good))
        call(server, "GET", search, headers=bearer(revoked_looking))
        call(server, "GET", search, params={"access_token": good})
        call(server, "GET", search, headers={"Cookie": f"calabi_session={good}"})

    written = repr(logs)
    assert good not in written
    assert revoked_looking not in written
    assert good.split("_")[-1] not in written
    assert "Authorization" not in written
    assert "Basic " not in written


def test_each_request_is_logged_once_with_its_route_status_and_actor(
    server: str, cluster_url: str, tenant: str
) -> None:
    good = issue_token(cluster_url, tenant, "audited-user", Role.VIEWER).token

    with capture_logs() as logs:
        call(server, "GET", "/api/2.0/mlflow/experiments/search", headers=bearer(good))
        call(server, "GET", "/api/2.0/mlflow/experiments/search")

    lines = [line for line in logs if line["event"] == "request"]
    assert [(line["status"], line["actor"]) for line in lines] == [
        (200, "audited-user"),
        (401, "anonymous"),
    ]
    assert lines[0]["route"] == "/mlflow/api/2.0/mlflow/experiments/search"
    assert lines[0]["tenant"] == tenant
    assert lines[1]["tenant"] is None
