"""``calabi serve``'s sign-in options and the settings they make."""

from typing import Any

import click
import pytest

from tracker.cli.sign_in_options import auth_settings

NONE_GIVEN: dict[str, Any] = {
    "require_sign_in": False,
    "oidc_issuer": None,
    "oidc_audience": None,
    "oidc_jwks_url": None,
    "oidc_tenant_claim": "tenant",
    "oidc_user_claim": "sub",
    "oidc_role_claim": "roles",
    "default_role": "viewer",
    "oidc_client_id": None,
    "oidc_client_secret": None,
    "session_secret": None,
    "insecure_cookies": False,
    "trusted_proxies": (),
    "proxy_user_header": None,
    "proxy_tenant_header": None,
    "proxy_role_header": None,
}


def test_no_sign_in_options_mean_no_identity_provider() -> None:
    options = {**NONE_GIVEN, "host": "127.0.0.1"}

    assert auth_settings(options) is None
    assert options == {"host": "127.0.0.1"}


def test_require_sign_in_alone_accepts_script_tokens_only() -> None:
    auth = auth_settings({**NONE_GIVEN, "require_sign_in": True})

    assert auth is not None
    assert (auth.jwt, auth.proxy, auth.session) == (None, None, None)


def test_an_issuer_needs_an_audience() -> None:
    with pytest.raises(click.UsageError, match="--oidc-audience"):
        auth_settings({**NONE_GIVEN, "oidc_issuer": "https://sso.example"})


def test_an_empty_tenant_claim_puts_everyone_in_the_default_tenant() -> None:
    auth = auth_settings(
        {
            **NONE_GIVEN,
            "oidc_issuer": "https://sso.example",
            "oidc_audience": "calabi",
            "oidc_tenant_claim": "",
        }
    )

    assert auth is not None
    assert auth.jwt is not None
    assert auth.jwt.tenant_claim is None


def test_browser_sign_in_needs_an_issuer_and_a_session_secret() -> None:
    with pytest.raises(click.UsageError, match="--session-secret"):
        auth_settings(
            {
                **NONE_GIVEN,
                "oidc_issuer": "https://sso.example",
                "oidc_audience": "calabi",
                "oidc_client_id": "web",
            }
        )


def test_trusted_proxies_keep_the_default_header_names() -> None:
    auth = auth_settings({**NONE_GIVEN, "trusted_proxies": ("10.0.0.0/8",)})

    assert auth is not None
    assert auth.proxy is not None
    assert auth.proxy.trusted == ("10.0.0.0/8",)
    assert auth.proxy.user_header == "X-Forwarded-User"
