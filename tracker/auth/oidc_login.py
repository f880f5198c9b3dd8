"""The web UI's sign-in: OpenID Connect authorization code flow with PKCE.

``<prefix>/auth/login`` sends the browser to the issuer with a fresh state,
nonce and PKCE challenge, remembered in a short-lived signed cookie;
``<prefix>/auth/callback`` checks the state, trades the code and the PKCE
verifier for tokens at the issuer's token endpoint, verifies them as bearer
tokens are verified, and sets the session cookie (``tracker.auth.sessions``).
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web

from tracker.auth.oidc import Issuer, JwtVerifier
from tracker.auth.sessions import SessionCookies
from tracker.errors import EndpointNotFound, Unauthenticated

LOGIN_COOKIE = "calabi_login"
LOGIN_AUDIENCE = "calabi-login"
# Long enough to type a password and answer a second factor.
LOGIN_SECONDS = 600


class BrowserLogin:
    """The sign-in flow against one issuer, ending in a session cookie."""

    def __init__(
        self,
        issuer: Issuer,
        verifier: JwtVerifier,
        sessions: SessionCookies,
        *,
        prefix: str,
    ) -> None:
        self.issuer = issuer
        self.verifier = verifier
        self.sessions = sessions
        self.prefix = prefix

    async def start(self, request: web.Request) -> web.Response:
        """Send the browser to the issuer's authorization endpoint."""
        settings = self.sessions.settings
        endpoint = await self._endpoint("authorization_endpoint")
        verifier = secrets.token_urlsafe(64)
        flow = {
            "aud": LOGIN_AUDIENCE,
            "exp": int(time.time()) + LOGIN_SECONDS,
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": verifier,
            "next": self._next_path(request.query.get("next")),
        }
        query = {
            "response_type": "code",
            "client_id": settings.client_id,
            "redirect_uri": self._redirect_url(request),
            "scope": " ".join(settings.scopes),
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }

        response = _redirect(f"{endpoint}?{urlencode(query)}")
        self.sessions.set_cookie(
            response,
            LOGIN_COOKIE,
            jwt.encode(flow, settings.secret, algorithm="HS256"),
            max_age=LOGIN_SECONDS,
        )

        return response

    async def finish(self, request: web.Request) -> web.Response:
        """Check the issuer's answer, trade the code, set the session cookie.

        Raises:
            Unauthenticated: the flow is unknown, expired or forged, or the
                issuer refused the sign-in or returned unverifiable tokens.
        """
        flow = self._flow(request)
        refused = request.query.get("error")
        if refused is not None:
            msg = f"The identity provider refused the sign-in: {refused[:100]}"
            raise Unauthenticated(msg)
        state = request.query.get("state", "")
        if not hmac.compare_digest(state.encode(), str(flow["state"]).encode()):
            raise Unauthenticated("The sign-in's state does not match; sign in again")

        tokens = await self._redeem(request, flow)
        identity = await self.verifier.identify(_string(tokens, "access_token"))
        id_token = tokens.get("id_token")
        if isinstance(id_token, str):
            await self._check_id_token(id_token, str(flow["nonce"]))

        response = _redirect(str(flow["next"]))
        self.sessions.issue(response, identity)
        response.del_cookie(LOGIN_COOKIE, path=self.sessions.path)

        return response

    def sign_out(self) -> web.Response:
        response = _redirect(f"{self.prefix}/")
        self.sessions.clear(response)

        return response

    def _flow(self, request: web.Request) -> dict[str, Any]:
        try:
            return jwt.decode(
                request.cookies.get(LOGIN_COOKIE, ""),
                self.sessions.settings.secret,
                algorithms=["HS256"],
                audience=LOGIN_AUDIENCE,
                options={"require": ["exp", "aud", "state", "nonce", "verifier"]},
            )
        except jwt.PyJWTError:
            msg = "No sign-in is under way in this browser, or it expired"
            raise Unauthenticated(msg) from None

    async def _redeem(self, request: web.Request, flow: dict[str, Any]) -> Any:
        settings = self.sessions.settings
        form = {
            "grant_type": "authorization_code",
            "code": request.query.get("code", ""),
            "redirect_uri": self._redirect_url(request),
            "client_id": settings.client_id,
            "code_verifier": str(flow["verifier"]),
        }
        if settings.client_secret is not None:
            form["client_secret"] = settings.client_secret

        try:
            return await self.issuer.post_form(
                await self._endpoint("token_endpoint"), form
            )
        except (OSError, ValueError) as error:
            msg = f"The identity provider did not redeem the sign-in: {error}"
            raise Unauthenticated(msg) from None

    async def _check_id_token(self, id_token: str, nonce: str) -> None:
        claims = await self.verifier.verified_claims(
            id_token, audience=self.sessions.settings.client_id
        )
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Unauthenticated("The ID token's nonce does not match; sign in again")

    async def _endpoint(self, name: str) -> str:
        try:
            metadata = await self.issuer.metadata()
        except (OSError, ValueError) as error:
            msg = f"The identity provider's configuration is unavailable: {error}"
            raise Unauthenticated(msg) from None
        return _string(metadata, name)

    def _redirect_url(self, request: web.Request) -> str:
        configured = self.sessions.settings.redirect_url
        if configured is not None:
            return configured
        return f"{request.scheme}://{request.host}{self.prefix}/auth/callback"

    def _next_path(self, asked: str | None) -> str:
        # Only a path on this server: anything else would make the sign-in
        # an open redirect.
        home = f"{self.prefix}/"
        if asked is None or not asked.startswith(home) or asked.startswith("//"):
            return home
        if "\\" in asked or any(not char.isprintable() for char in asked):
            return home
        return asked


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _string(document: Any, name: str) -> str:
    value = document.get(name) if isinstance(document, dict) else None
    if not isinstance(value, str):
        raise Unauthenticated(f"The identity provider's answer has no {name}")
    return value


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def add_login_routes(
    app: web.Application, prefix: str, current: Callable[[], BrowserLogin | None]
) -> None:
    """Serve the sign-in flow under ``<prefix>/auth/``.

    ``current`` gives the flow once the application has started (it needs
    the HTTP client the application opens), None before.
    """

    def login() -> BrowserLogin:
        flow = current()
        if flow is None:
            raise EndpointNotFound("Browser sign-in is not configured")
        return flow

    async def start(request: web.Request) -> web.Response:
        return await login().start(request)

    async def finish(request: web.Request) -> web.Response:
        return await login().finish(request)

    async def sign_out(request: web.Request) -> web.Response:
        return login().sign_out()

    app.router.add_get(f"{prefix}/auth/login", start, allow_head=False)
    app.router.add_get(f"{prefix}/auth/callback", finish, allow_head=False)
    app.router.add_get(f"{prefix}/auth/logout", sign_out, allow_head=False)
