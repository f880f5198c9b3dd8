"""Bearer JWTs from the configured issuer, through the stock mlflow client.

A tiny issuer runs in a thread with its own RSA keys; the server fetches its
key set by discovery, as it would the platform's.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.auth import call, provisioned_tenant
from tests.support.issuer import API_AUDIENCE, Issuer, SigningKey, running_issuer
from tests.support.server import free_port, running_server
from tracker.config import AuthSettings, JwtSettings, S3Settings, Settings
from tracker.tenancy.names import tenant_database


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def tenant(cluster_url: str) -> str:
    return provisioned_tenant(cluster_url, "jwt")


@pytest.fixture(scope="module")
def server(
    cluster_url: str, s3_settings: S3Settings, issuer: Issuer, tenant: str
) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=tenant,
        s3=s3_settings,
        auth=AuthSettings(
            # Refetching keys at once on an unknown key id lets the rotation
            # test run without waiting out the refresh interval.
            jwt=JwtSettings(
                issuer=issuer.url, audience=API_AUDIENCE, jwks_min_refresh_seconds=0
            )
        ),
    )
    with running_server(settings) as uri:
        yield uri


def signed_in(monkeypatch: pytest.MonkeyPatch, server: str, token: str) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    return MlflowClient(server)


def test_client_with_a_valid_jwt_tracks_a_run(
    monkeypatch: pytest.MonkeyPatch, server: str, issuer: Issuer, tenant: str
) -> None:
    client = signed_in(
        monkeypatch, server, issuer.token(tenant=tenant, roles=["editor"])
    )

    experiment_id = client.create_experiment(f"jwt-{time.time_ns()}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 0.25)
    client.log_text(run.info.run_id, "hello", "notes/hello.txt")

    fetched = client.get_run(run.info.run_id)
    assert fetched.data.metrics == {"loss": 0.25}
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == [
        "notes/hello.txt"
    ]


async def test_events_record_the_verified_user_as_the_actor(
    monkeypatch: pytest.MonkeyPatch,
    server: str,
    issuer: Issuer,
    tenant: str,
    cluster_url: str,
) -> None:
    token = issuer.token(tenant=tenant, roles="editor", sub="carol@example.com")
    name = f"actor-{time.time_ns()}"
    answer = call(
        server,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": name},
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
    assert actor == "carol@example.com"


def test_viewer_role_from_the_claim_may_read_but_not_write(
    monkeypatch: pytest.MonkeyPatch, server: str, issuer: Issuer, tenant: str
) -> None:
    client = signed_in(
        monkeypatch, server, issuer.token(tenant=tenant, roles=["viewer"])
    )

    assert client.get_experiment("0").name == "Default"
    with pytest.raises(MlflowException) as refused:
        client.create_experiment(f"viewer-{time.time_ns()}")
    assert refused.value.error_code == "PERMISSION_DENIED"


def _expired(issuer: Issuer, tenant: str) -> str:
    # Past the server's 30 s leeway.
    return issuer.token(tenant=tenant, expires_in=-120)


def _wrongly_signed(issuer: Issuer, tenant: str) -> str:
    # A key nobody published, under the id of the one that is.
    rogue = SigningKey()
    rogue.kid = issuer.key.kid
    return issuer.token(tenant=tenant, key=rogue)


def _wrong_audience(issuer: Issuer, tenant: str) -> str:
    return issuer.token(tenant=tenant, aud="some-other-service")


def _wrong_issuer(issuer: Issuer, tenant: str) -> str:
    return issuer.token(tenant=tenant, iss="http://127.0.0.1:1/elsewhere")


def _not_yet_valid(issuer: Issuer, tenant: str) -> str:
    return issuer.token(tenant=tenant, nbf=int(time.time()) + 3600)


def _shared_secret(issuer: Issuer, tenant: str) -> str:
    # The classic confusion attack: HS256 keyed with the published public key.
    # PyJWT will not make such a token, so it is put together by hand.
    public = issuer.key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _, payload, _ = issuer.token(tenant=tenant).split(".")
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}))
    signature = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64(signature.digest())}"


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _no_tenant(issuer: Issuer, tenant: str) -> str:
    return issuer.token()


def _garbage(issuer: Issuer, tenant: str) -> str:
    return "not.a.jwt"


@pytest.mark.parametrize(
    "make_token",
    [
        _expired,
        _wrongly_signed,
        _wrong_audience,
        _wrong_issuer,
        _not_yet_valid,
        _shared_secret,
        _no_tenant,
        _garbage,
    ],
)
def test_client_with_a_bad_jwt_is_refused_as_unauthenticated(
    monkeypatch: pytest.MonkeyPatch,
    server: str,
    issuer: Issuer,
    tenant: str,
    make_token: Callable[[Issuer, str], str],
) -> None:
    token = make_token(issuer, tenant)
    client = signed_in(monkeypatch, server, token)

    with pytest.raises(MlflowException) as refused:
        client.search_experiments()

    assert refused.value.error_code == "UNAUTHENTICATED"
    answer = call(
        server,
        "GET",
        "/api/2.0/mlflow/experiments/search",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_request_without_credentials_gets_a_bearer_challenge(server: str) -> None:
    answer = call(server, "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0")

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="calabi"'


@pytest.mark.parametrize("path", ["/health", "/version", "/api/3.0/mlflow/server-info"])
def test_probes_and_server_info_need_no_credentials(server: str, path: str) -> None:
    assert call(server, "GET", path).status_code == 200


def test_rotated_key_is_picked_up_and_the_withdrawn_one_refused(
    monkeypatch: pytest.MonkeyPatch, server: str, issuer: Issuer, tenant: str
) -> None:
    before = issuer.token(tenant=tenant)
    assert signed_in(monkeypatch, server, before).get_experiment("0")

    issuer.rotate()
    after = issuer.token(tenant=tenant)

    assert signed_in(monkeypatch, server, after).get_experiment("0")
    with pytest.raises(MlflowException) as refused:
        signed_in(monkeypatch, server, before).get_experiment("0")
    assert refused.value.error_code == "UNAUTHENTICATED"
