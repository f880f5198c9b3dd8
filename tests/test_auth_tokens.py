"""Script and CI tokens: ``calabi token``, the stock client, revocation.

The server here requires sign-in with no issuer configured, so script
tokens are its only way in.
"""

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import requests
from click.testing import CliRunner
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.auth import (
    basic,
    bearer,
    call,
    issue_token,
    provisioned_tenant,
)
from tests.support.server import free_port, running_server
from tracker.auth.roles import Role
from tracker.cli.token import token as token_command
from tracker.config import AuthSettings, Settings
from tracker.tenancy.names import CATALOG_DATABASE


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "tokens")


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


def calabi_token(*args: str, database_url: str) -> str:
    """Run ``calabi token ...``; return what it printed on stdout."""
    result = CliRunner().invoke(
        token_command, [*args, "--database-url", database_url], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def search(server: str, headers: dict[str, str]) -> requests.Response:
    return call(server, "GET", "/api/2.0/mlflow/experiments/search", headers=headers)


def test_created_token_is_printed_once_and_only_its_hash_is_stored(
    cluster_url: str, tenant: str
) -> None:
    printed = calabi_token(
        *("create", "--tenant", tenant, "--user", "ci-bot", "--role", "editor"),
        database_url=cluster_url,
    )
    token_id, secret = printed.removeprefix("calabi_").split("_", 1)

    stored = _catalog_row(cluster_url, token_id)

    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).digest()
    assert secret not in str(dict(stored))
    listing = calabi_token("list", "--tenant", tenant, database_url=cluster_url)
    assert token_id in listing
    assert secret not in listing


def _catalog_row(cluster_url: str, token_id: str) -> asyncpg.Record:
    async def fetch() -> asyncpg.Record:
        connection = await asyncpg.connect(cluster_url, database=CATALOG_DATABASE)
        try:
            row = await connection.fetchrow(
                "SELECT * FROM tokens WHERE token_id = $1", token_id
            )
        finally:
            await connection.close()
        assert row is not None
        return row

    return asyncio.run(fetch())


def test_client_with_a_token_as_bearer_tracks_a_run(
    monkeypatch: pytest.MonkeyPatch, server: str, cluster_url: str, tenant: str
) -> None:
    issued = issue_token(cluster_url, tenant, "bearer-bot", Role.EDITOR)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", issued.token)
    client = MlflowClient(server)

    experiment_id = client.create_experiment(f"bearer-{time.time_ns()}")
    run = client.create_run(experiment_id)
    client.log_param(run.info.run_id, "lr", "0.1")

    assert client.get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_client_with_a_token_as_basic_password_tracks_a_run(
    monkeypatch: pytest.MonkeyPatch, server: str, cluster_url: str, tenant: str
) -> None:
    issued = issue_token(cluster_url, tenant, "basic-bot", Role.EDITOR)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "basic-bot")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", issued.token)
    client = MlflowClient(server)

    experiment_id = client.create_experiment(f"basic-{time.time_ns()}")
    run = client.create_run(experiment_id)
    client.set_tag(run.info.run_id, "via", "basic")

    assert client.get_run(run.info.run_id).data.tags["via"] == "basic"


def test_revoked_token_is_refused_from_the_next_request_on(
    monkeypatch: pytest.MonkeyPatch, server: str, cluster_url: str, tenant: str
) -> None:
    issued = issue_token(cluster_url, tenant, "short-lived", Role.VIEWER)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", issued.token)
    client = MlflowClient(server)
    assert client.get_experiment("0").name == "Default"

    calabi_token("revoke", issued.token_id, database_url=cluster_url)

    with pytest.raises(MlflowException) as refused:
        client.get_experiment("0")
    assert refused.value.error_code == "UNAUTHENTICATED"
    answer = search(server, bearer(issued.token))
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


def test_revoked_token_is_refused_as_basic_password_too(
    server: str, cluster_url: str, tenant: str
) -> None:
    issued = issue_token(cluster_url, tenant, "basic-revoked", Role.VIEWER)
    calabi_token("revoke", issued.token, database_url=cluster_url)

    answer = search(server, basic("basic-revoked", issued.token))

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("position", [len("calabi_") + 3, -1])
def test_token_with_a_changed_character_is_refused(
    server: str, cluster_url: str, tenant: str, position: int
) -> None:
    issued = issue_token(cluster_url, tenant, "tampered", Role.VIEWER)
    changed = "A" if issued.token[position] != "A" else "B"
    tampered = issued.token[:position] + changed + issued.token[position + 1 :]
    if position == -1:
        tampered = issued.token[:-1] + changed

    answer = search(server, bearer(tampered))

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


def test_expired_token_is_refused(server: str, cluster_url: str, tenant: str) -> None:
    expired = issue_token(
        cluster_url,
        tenant,
        "expired",
        Role.VIEWER,
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )

    answer = search(server, bearer(expired.token))

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


def test_token_of_an_unknown_tenant_cannot_be_created(cluster_url: str) -> None:
    result = CliRunner().invoke(
        token_command,
        [
            *("create", "--tenant", "no-such-tenant", "--user", "u"),
            *("--role", "viewer", "--database-url", cluster_url),
        ],
    )

    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_token_commands_need_admin_access_to_the_catalog(
    cluster_url: str, tenant: str
) -> None:
    role = f"reader_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_login_role(cluster_url, role))
    parts = urlsplit(cluster_url)
    unprivileged = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname or ''}"))

    result = CliRunner().invoke(
        token_command,
        [
            *("create", "--tenant", tenant, "--user", "u", "--role", "admin"),
            *("--database-url", unprivileged),
        ],
    )

    assert result.exit_code != 0
    assert "needs administrative access" in result.output


async def _create_login_role(cluster_url: str, role: str) -> None:
    """A database user with no grants: it may connect, and nothing more."""
    admin = await asyncpg.connect(cluster_url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
    finally:
        await admin.close()


def test_tenant_admin_makes_and_revokes_tokens_over_http(
    server: str, cluster_url: str, tenant: str
) -> None:
    admin = issue_token(cluster_url, tenant, "tenant-admin", Role.ADMIN)
    made = call(
        server,
        "POST",
        "/api/2.0/calabi/tokens/create",
        headers=bearer(admin.token),
        json={"user": "nightly", "role": "viewer"},
    )
    assert made.status_code == 200
    minted = made.json()["token"]
    assert search(server, bearer(minted)).status_code == 200

    revoked = call(
        server,
        "POST",
        "/api/2.0/calabi/tokens/revoke",
        headers=bearer(admin.token),
        json={"token_id": made.json()["token_id"]},
    )

    assert revoked.status_code == 200
    assert search(server, bearer(minted)).status_code == 401


def test_tenant_admin_cannot_revoke_another_tenants_token(
    server: str, cluster_url: str, tenant: str
) -> None:
    other = provisioned_tenant(cluster_url, "tokens-other")
    theirs = issue_token(cluster_url, other, "theirs", Role.VIEWER)
    admin = issue_token(cluster_url, tenant, "tenant-admin", Role.ADMIN)

    answer = call(
        server,
        "POST",
        "/api/2.0/calabi/tokens/revoke",
        headers=bearer(admin.token),
        json={"token_id": theirs.token_id},
    )

    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    listed = call(
        server, "GET", "/api/2.0/calabi/tokens/list", headers=bearer(admin.token)
    )
    assert theirs.token_id not in listed.text
