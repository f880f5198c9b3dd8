"""Roles: every route of the route table, tried with each role.

The role a route needs is decided in one place, before its handler runs,
so each refusal here comes with an empty body: no handler ever sees it.
"""

from collections.abc import Iterator

import pytest

from tests.support.auth import bearer, call, issue_token, provisioned_tenant
from tests.support.routes import concrete, served_routes
from tests.support.server import free_port, running_server
from tracker.auth.roles import Role, required_role, route_key
from tracker.config import AuthSettings, Settings

_SAMPLES = {
    "model_id": "m-" + "0" * 32,
    "tag_key": "key",
    "path": "1/" + "0" * 32 + "/artifacts/file.txt",
}
PREFIX = "/mlflow"


def _role_of(method: str, template: str) -> Role | None:
    return required_role(method, route_key(template, PREFIX))


def _needing(role: Role | None) -> list[tuple[str, str]]:
    return [
        (method, concrete(template, _SAMPLES).removeprefix(PREFIX))
        for method, template in served_routes()
        if _role_of(method, template) == role
    ]


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "roles")


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


@pytest.fixture(scope="module")
def tokens(cluster_url: str, tenant: str) -> dict[Role, str]:
    return {
        role: issue_token(cluster_url, tenant, f"{role.label}-user", role).token
        for role in Role
    }


def test_reads_need_a_viewer_and_writes_an_editor() -> None:
    assert required_role("GET", "mlflow/runs/get") == Role.VIEWER
    assert required_role("POST", "mlflow/runs/search") == Role.VIEWER
    assert required_role("POST", "mlflow/artifacts/presigned-download-url") == (
        Role.VIEWER
    )
    assert required_role("POST", "mlflow/runs/log-batch") == Role.EDITOR
    assert required_role("DELETE", "mlflow/logged-models/m-1") == Role.EDITOR
    assert required_role("POST", "calabi/tokens/create") == Role.ADMIN
    assert required_role("GET", "health") is None


def test_route_key_is_the_same_for_both_api_trees() -> None:
    assert route_key("/mlflow/api/2.0/mlflow/runs/search", "/mlflow") == (
        "mlflow/runs/search"
    )
    assert route_key("/mlflow/ajax-api/2.0/mlflow/runs/search", "/mlflow") == (
        "mlflow/runs/search"
    )
    assert route_key("/mlflow/health", "/mlflow") == "health"


def test_an_unlisted_post_route_needs_an_editor() -> None:
    assert required_role("POST", "mlflow/some-future/route") == Role.EDITOR


def test_the_route_table_has_mutating_routes_to_check() -> None:
    assert len(_needing(Role.EDITOR)) >= 25


@pytest.mark.parametrize(("method", "url"), _needing(Role.EDITOR))
def test_viewer_is_refused_every_mutating_route(
    server: str, tokens: dict[Role, str], method: str, url: str
) -> None:
    answer = call(server, method, url, headers=bearer(tokens[Role.VIEWER]), json={})

    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(("method", "url"), _needing(Role.EDITOR))
def test_viewer_is_refused_every_mutating_route_of_the_web_ui_tree(
    server: str, tokens: dict[Role, str], method: str, url: str
) -> None:
    ajax = url.replace("/api/", "/ajax-api/", 1)

    answer = call(server, method, ajax, headers=bearer(tokens[Role.VIEWER]), json={})

    assert answer.status_code == 403


@pytest.mark.parametrize(("method", "url"), _needing(Role.ADMIN))
def test_editor_is_refused_every_admin_route(
    server: str, tokens: dict[Role, str], method: str, url: str
) -> None:
    answer = call(server, method, url, headers=bearer(tokens[Role.EDITOR]), json={})

    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(("method", "url"), _needing(Role.VIEWER))
def test_viewer_is_let_through_every_read_route(
    server: str, tokens: dict[Role, str], method: str, url: str
) -> None:
    answer = call(server, method, url, headers=bearer(tokens[Role.VIEWER]), json={})

    # Through to the handler, which may still find nothing or want fields.
    assert answer.status_code not in (401, 403)


@pytest.mark.parametrize(("method", "url"), _needing(Role.EDITOR))
def test_editor_is_let_through_every_mutating_route(
    server: str, tokens: dict[Role, str], method: str, url: str
) -> None:
    answer = call(server, method, url, headers=bearer(tokens[Role.EDITOR]), json={})

    assert answer.status_code not in (401, 403)


@pytest.mark.parametrize(("method", "url"), _needing(None))
def test_open_routes_need_no_credentials(server: str, method: str, url: str) -> None:
    answer = call(server, method, url)

    assert answer.status_code not in (401, 403)


@pytest.mark.parametrize(
    ("method", "url"),
    [route for role in Role for route in _needing(role)],
)
def test_every_other_route_needs_credentials(
    server: str, method: str, url: str
) -> None:
    answer = call(server, method, url, json={})

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
