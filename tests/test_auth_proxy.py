"""Identity headers from a reverse proxy, believed only from trusted peers."""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest

from tests.support.auth import call, provisioned_tenant
from tests.support.server import free_port, running_server
from tracker.auth.proxy import trusted_networks
from tracker.config import AuthSettings, ProxySettings, Settings
from tracker.errors import InvalidParameter
from tracker.tenancy.names import tenant_database


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "proxy")


@contextmanager
def proxied_server(cluster_url: str, tenant: str, trusted: str) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=tenant,
        auth=AuthSettings(proxy=ProxySettings(trusted=(trusted,))),
    )
    with running_server(settings) as uri:
        yield uri


@pytest.fixture(scope="module")
def behind_proxy(cluster_url: str, tenant: str) -> Iterator[str]:
    # The tests connect from loopback, so loopback plays the proxy.
    with proxied_server(cluster_url, tenant, "127.0.0.0/8") as uri:
        yield uri


@pytest.fixture(scope="module")
def reached_directly(cluster_url: str, tenant: str) -> Iterator[str]:
    with proxied_server(cluster_url, tenant, "10.0.0.0/8") as uri:
        yield uri


def proxy_headers(
    tenant: str, user: str = "dave", role: str = "editor"
) -> dict[str, str]:
    return {
        "X-Forwarded-User": user,
        "X-Calabi-Tenant": tenant,
        "X-Calabi-Role": role,
    }


async def test_trusted_proxy_identity_is_the_actor_of_events(
    behind_proxy: str, tenant: str, cluster_url: str, unique: str
) -> None:
    answer = call(
        behind_proxy,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        headers=proxy_headers(tenant, user="dave@example.com"),
        json={"name": f"proxied-{unique}"},
    )
    assert answer.status_code == 200

    connection = await asyncpg.connect(cluster_url, database=tenant_database(tenant))
    try:
        actor = await connection.fetchval(
            "SELECT meta->>'actor' FROM es.events WHERE stream_id = $1",
            f"experiment-{answer.json()['experiment_id']}",
        )
    finally:
        await connection.close()
    assert actor == "dave@example.com"


def test_role_header_of_the_proxy_is_enforced(behind_proxy: str, tenant: str) -> None:
    answer = call(
        behind_proxy,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        headers=proxy_headers(tenant, role="viewer"),
        json={"name": "never"},
    )

    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"


def test_identity_headers_from_an_untrusted_peer_are_ignored(
    reached_directly: str, tenant: str
) -> None:
    answer = call(
        reached_directly,
        "GET",
        "/api/2.0/mlflow/experiments/search",
        headers=proxy_headers(tenant, role="admin"),
    )

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


def test_proxy_naming_an_invalid_tenant_is_refused(behind_proxy: str) -> None:
    answer = call(
        behind_proxy,
        "GET",
        "/api/2.0/mlflow/experiments/search",
        headers=proxy_headers("../etc"),
    )

    assert answer.status_code == 401


def test_proxy_naming_a_user_with_control_characters_is_refused(
    behind_proxy: str, tenant: str
) -> None:
    answer = call(
        behind_proxy,
        "GET",
        "/api/2.0/mlflow/experiments/search",
        headers=proxy_headers(tenant, user="eve\tadmin"),
    )

    assert answer.status_code == 401


def test_trusted_networks_refuse_what_is_no_address() -> None:
    with pytest.raises(InvalidParameter, match="Not an address"):
        trusted_networks(("10.0.0.0/8", "proxy.internal"))
