"""The web UI's sign-in: authorization code with PKCE, then a session cookie."""

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.support.auth import provisioned_tenant
from tests.support.issuer import API_AUDIENCE, CLIENT_ID, Issuer, running_issuer
from tests.support.server import free_port, running_server
from tracker.auth.sessions import SESSION_COOKIE
from tracker.config import AuthSettings, JwtSettings, SessionSettings, Settings


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def tenant(cluster_url: str, issuer: Issuer) -> str:
    name = provisioned_tenant(cluster_url, "browser")
    issuer.login_claims = {"sub": "erin", "tenant": name, "roles": ["editor"]}
    return name


@pytest.fixture(scope="module")
def server(cluster_url: str, issuer: Issuer, tenant: str) -> Iterator[str]:
    settings = Settings(
        database_url=cluster_url,
        port=free_port(),
        default_tenant=tenant,
        auth=AuthSettings(
            jwt=JwtSettings(issuer=issuer.url, audience=API_AUDIENCE),
            # Plain HTTP in the test, so the cookie cannot be Secure here.
            session=SessionSettings(
                client_id=CLIENT_ID, secret="s" * 32, secure_cookie=False
            ),
        ),
    )
    with running_server(settings) as uri:
        yield uri


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def signed_in_browser(server: str) -> requests.Session:
    browser = requests.Session()
    landed = browser.get(
        f"{server}/auth/login",
        params={"next": "/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0"},
        timeout=30,
    )
    assert landed.status_code == 200, landed.text
    return browser


def test_sign_in_lands_on_the_page_asked_for_with_a_session(server: str) -> None:
    browser = requests.Session()

    landed = browser.get(
        f"{server}/auth/login",
        params={"next": "/mlflow/api/2.0/mlflow/experiments/get?experiment_id=0"},
        timeout=30,
    )

    assert landed.status_code == 200
    assert landed.json()["experiment"]["name"] == "Default"
    assert SESSION_COOKIE in browser.cookies


def test_session_cookie_is_http_only_and_same_site(server: str) -> None:
    answer = requests.get(f"{server}/auth/login", timeout=30, allow_redirects=False)
    to_issuer = requests.get(
        answer.headers["Location"], allow_redirects=False, timeout=30
    )
    callback = requests.get(
        to_issuer.headers["Location"],
        cookies=answer.cookies,
        allow_redirects=False,
        timeout=30,
    )

    cookie = callback.headers["Set-Cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/mlflow" in cookie


def test_sign_in_sends_a_pkce_challenge(server: str) -> None:
    answer = requests.get(f"{server}/auth/login", timeout=30, allow_redirects=False)

    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["client_id"] == [CLIENT_ID]


def test_session_writes_need_the_servers_own_origin(server: str, unique: str) -> None:
    browser = signed_in_browser(server)
    url = f"{server}/ajax-api/2.0/mlflow/experiments/create"

    cross_site = browser.post(
        url,
        json={"name": f"csrf-{unique}"},
        headers={"Origin": "https://evil.example"},
        timeout=30,
    )
    same_site = browser.post(
        url,
        json={"name": f"ui-{unique}"},
        headers={"Origin": origin_of(server)},
        timeout=30,
    )

    assert cross_site.status_code == 403
    assert cross_site.json()["error_code"] == "PERMISSION_DENIED"
    assert same_site.status_code == 200


def test_session_write_without_origin_is_refused(server: str, unique: str) -> None:
    browser = signed_in_browser(server)

    answer = browser.post(
        f"{server}/ajax-api/2.0/mlflow/experiments/create",
        json={"name": f"no-origin-{unique}"},
        timeout=30,
    )

    assert answer.status_code == 403


def test_callback_with_a_forged_state_is_refused(server: str) -> None:
    answer = requests.get(f"{server}/auth/login", timeout=30, allow_redirects=False)
    to_issuer = requests.get(
        answer.headers["Location"], allow_redirects=False, timeout=30
    )
    callback = urlsplit(to_issuer.headers["Location"])
    code = parse_qs(callback.query)["code"][0]

    forged = requests.get(
        f"{server}/auth/callback",
        params={"code": code, "state": "forged"},
        cookies=answer.cookies,
        allow_redirects=False,
        timeout=30,
    )

    assert forged.status_code == 401
    assert forged.json()["error_code"] == "UNAUTHENTICATED"


def test_callback_without_a_sign_in_under_way_is_refused(server: str) -> None:
    answer = requests.get(
        f"{server}/auth/callback", params={"code": "x", "state": "y"}, timeout=30
    )

    assert answer.status_code == 401


def test_sign_in_never_redirects_off_the_server(server: str) -> None:
    browser = requests.Session()

    landed = browser.get(
        f"{server}/auth/login",
        params={"next": "https://evil.example/phish"},
        timeout=30,
        allow_redirects=True,
    )

    assert urlsplit(landed.url).netloc == urlsplit(server).netloc


def test_web_ui_page_sends_a_browser_without_session_to_sign_in(server: str) -> None:
    answer = requests.get(f"{server}/", timeout=30, allow_redirects=False)

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/mlflow/auth/login?next=")


def test_sign_out_ends_the_session(server: str) -> None:
    browser = signed_in_browser(server)

    browser.get(f"{server}/auth/logout", timeout=30, allow_redirects=False)
    answer = browser.get(
        f"{server}/api/2.0/mlflow/experiments/get",
        params={"experiment_id": "0"},
        timeout=30,
    )

    assert answer.status_code == 401


def test_forged_session_cookie_is_refused(server: str) -> None:
    answer = requests.get(
        f"{server}/api/2.0/mlflow/experiments/get",
        params={"experiment_id": "0"},
        cookies={SESSION_COOKIE: "eyJhbGciOiJIUzI1NiJ9.e30.forged"},
        timeout=30,
    )

    assert answer.status_code == 401
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
