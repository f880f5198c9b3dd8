"""``calabi serve``'s sign-in options, and the settings they make.

Sign-in is required as soon as an issuer, a trusted proxy or
``--require-sign-in`` is given; script tokens are then always accepted.
With none of them the server runs without an identity provider.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tracker.auth.roles import ROLE_NAMES
from tracker.config import AuthSettings, JwtSettings, ProxySettings, SessionSettings

F = TypeVar("F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--require-sign-in",
        is_flag=True,
        envvar="CALABI_REQUIRE_SIGN_IN",
        help="Require sign-in even with no issuer or proxy (script tokens only).",
    ),
    click.option(
        "--oidc-issuer",
        envvar="CALABI_OIDC_ISSUER",
        help="The OpenID Connect issuer whose JWTs are accepted as bearer tokens.",
    ),
    click.option(
        "--oidc-audience",
        envvar="CALABI_OIDC_AUDIENCE",
        help="The audience those tokens must name.",
    ),
    click.option(
        "--oidc-jwks-url",
        envvar="CALABI_OIDC_JWKS_URL",
        help="The issuer's key set; found by discovery when not given.",
    ),
    click.option(
        "--oidc-tenant-claim",
        envvar="CALABI_OIDC_TENANT_CLAIM",
        default="tenant",
        show_default=True,
        help="The claim naming the tenant; empty puts everyone in --tenant.",
    ),
    click.option(
        "--oidc-user-claim",
        envvar="CALABI_OIDC_USER_CLAIM",
        default="sub",
        show_default=True,
    ),
    click.option(
        "--oidc-role-claim",
        envvar="CALABI_OIDC_ROLE_CLAIM",
        default="roles",
        show_default=True,
        help="The claim naming the role (a name or a list of names).",
    ),
    click.option(
        "--default-role",
        envvar="CALABI_DEFAULT_ROLE",
        type=click.Choice(ROLE_NAMES),
        default="viewer",
        show_default=True,
        help="The role of a signed-in caller whose credentials name none.",
    ),
    click.option(
        "--oidc-client-id",
        envvar="CALABI_OIDC_CLIENT_ID",
        help="The web UI's client id: enables browser sign-in under /auth/.",
    ),
    click.option("--oidc-client-secret", envvar="CALABI_OIDC_CLIENT_SECRET"),
    click.option(
        "--session-secret",
        envvar="CALABI_SESSION_SECRET",
        help="Signs session cookies; the same for every server process.",
    ),
    click.option(
        "--insecure-cookies",
        is_flag=True,
        help="Send session cookies over plain HTTP (development only).",
    ),
    click.option(
        "--trusted-proxy",
        "trusted_proxies",
        multiple=True,
        envvar="CALABI_TRUSTED_PROXIES",
        help="An address or network whose identity headers are believed; repeat.",
    ),
    click.option(
        "--proxy-user-header", envvar="CALABI_PROXY_USER_HEADER", default=None
    ),
    click.option(
        "--proxy-tenant-header", envvar="CALABI_PROXY_TENANT_HEADER", default=None
    ),
    click.option(
        "--proxy-role-header", envvar="CALABI_PROXY_ROLE_HEADER", default=None
    ),
)
_NAMES = (
    "require_sign_in",
    "oidc_issuer",
    "oidc_audience",
    "oidc_jwks_url",
    "oidc_tenant_claim",
    "oidc_user_claim",
    "oidc_role_claim",
    "default_role",
    "oidc_client_id",
    "oidc_client_secret",
    "session_secret",
    "insecure_cookies",
    "trusted_proxies",
    "proxy_user_header",
    "proxy_tenant_header",
    "proxy_role_header",
)


def sign_in_options(command: F) -> F:
    """Add the sign-in options to ``command``."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def auth_settings(options: dict[str, Any]) -> AuthSettings | None:
    """Take the sign-in options out of ``options``; None means no sign-in."""
    given = {name: options.pop(name) for name in _NAMES}
    jwt = _jwt_settings(given)
    proxy = _proxy_settings(given)
    session = _session_settings(given, jwt)
    if jwt is None and proxy is None and not given["require_sign_in"]:
        return None

    return AuthSettings(jwt=jwt, proxy=proxy, session=session)


def _jwt_settings(given: dict[str, Any]) -> JwtSettings | None:
    if not given["oidc_issuer"]:
        return None
    if not given["oidc_audience"]:
        msg = "--oidc-issuer needs --oidc-audience"
        raise click.UsageError(msg)

    return JwtSettings(
        issuer=given["oidc_issuer"],
        audience=given["oidc_audience"],
        jwks_url=given["oidc_jwks_url"] or None,
        tenant_claim=given["oidc_tenant_claim"] or None,
        user_claim=given["oidc_user_claim"],
        role_claim=given["oidc_role_claim"] or None,
        default_role=given["default_role"],
    )


def _proxy_settings(given: dict[str, Any]) -> ProxySettings | None:
    if not given["trusted_proxies"]:
        return None
    headers = {
        field: given[f"proxy_{field}"]
        for field in ("user_header", "tenant_header", "role_header")
        if given[f"proxy_{field}"] is not None
    }

    return ProxySettings(
        trusted=tuple(given["trusted_proxies"]),
        default_role=given["default_role"],
        **headers,
    )


def _session_settings(
    given: dict[str, Any], jwt: JwtSettings | None
) -> SessionSettings | None:
    if not given["oidc_client_id"]:
        return None
    if jwt is None or not given["session_secret"]:
        msg = "--oidc-client-id needs --oidc-issuer and --session-secret"
        raise click.UsageError(msg)

    return SessionSettings(
        client_id=given["oidc_client_id"],
        client_secret=given["oidc_client_secret"] or None,
        secret=given["session_secret"],
        secure_cookie=not given["insecure_cookies"],
    )
