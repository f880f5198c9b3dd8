"""Resolving the caller's identity, once per request, from what they present.

In order: identity headers from a trusted proxy; an ``Authorization``
header, Bearer (a script token or an issuer's JWT) or Basic (the same, as
the password: the stock client's ``MLFLOW_TRACKING_PASSWORD``); the web
UI's session cookie.  With no identity provider configured every caller is
the local user, an admin of the default tenant.
"""

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Protocol

import aiohttp
import asyncpg
import structlog
from aiohttp import web

from tracker.auth.identity import Identity, Via
from tracker.auth.jwks import KeySet
from tracker.auth.oidc import Issuer, JwtVerifier
from tracker.auth.oidc_login import BrowserLogin
from tracker.auth.proxy import ProxyHeaders
from tracker.auth.roles import Role
from tracker.auth.sessions import SessionCookies
from tracker.auth.tokens import TokenStore, looks_like_token
from tracker.config import AuthSettings, Settings
from tracker.errors import InvalidParameter, Unauthenticated
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import CATALOG_DATABASE

log = structlog.get_logger("calabi.auth")

LOCAL_USER = "local"


class Authenticator(Protocol):
    async def identify(self, request: web.Request) -> Identity: ...


class LocalUser:
    """No identity provider: everyone is the local user, admin of one tenant."""

    def __init__(self, tenant: str) -> None:
        self._identity = Identity(
            tenant=tenant, user=LOCAL_USER, role=Role.ADMIN, via=Via.LOCAL
        )

    async def identify(self, request: web.Request) -> Identity:
        return self._identity


class SignIn:
    """Every configured way of signing in, tried in a fixed order."""

    def __init__(
        self,
        tokens: TokenStore,
        *,
        jwt: JwtVerifier | None = None,
        proxy: ProxyHeaders | None = None,
        sessions: SessionCookies | None = None,
    ) -> None:
        self._tokens = tokens
        self._jwt = jwt
        self._proxy = proxy
        self._sessions = sessions

    async def identify(self, request: web.Request) -> Identity:
        """The verified identity of the caller.

        Raises:
            Unauthenticated: no credentials, or ones that do not verify.
        """
        if self._proxy is not None:
            vouched = self._proxy.identify(request.remote, request.headers)
            if vouched is not None:
                return vouched

        authorization = request.headers.get("Authorization")
        if authorization is not None:
            return await self._from_authorization(authorization)

        if self._sessions is not None:
            session = self._sessions.identify(request)
            if session is not None:
                return session

        msg = "Sign-in required: send a bearer token or sign in through the web UI"
        raise Unauthenticated(msg, credentials_refused=False)

    async def _from_authorization(self, header: str) -> Identity:
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()

        if scheme.lower() == "bearer" and credentials:
            return await self._from_secret(credentials)
        if scheme.lower() == "basic" and credentials:
            # The user name is the client's own label; the password alone
            # carries the identity.
            _, _, password = _basic_credentials(credentials).partition(":")
            return await self._from_secret(password)

        raise Unauthenticated("The Authorization header must be Bearer or Basic")

    async def _from_secret(self, secret: str) -> Identity:
        if looks_like_token(secret):
            return await self._tokens.identify(secret)
        if self._jwt is not None:
            return await self._jwt.identify(secret)

        raise Unauthenticated("The token is not one this server issued")


def _basic_credentials(encoded: str) -> str:
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("The Basic credentials are malformed") from None


class Access:
    """Who may call the server; its resources open and close with the app.

    Before the application starts (and without an identity provider) it
    signs everyone in as the local user.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._authenticator: Authenticator = LocalUser(settings.default_tenant)
        self.tokens: TokenStore | None = None
        self.login: BrowserLogin | None = None

    async def identify(self, request: web.Request) -> Identity:
        return await self._authenticator.identify(request)

    async def lifespan(self, app: web.Application) -> AsyncIterator[None]:
        """An aiohttp cleanup context: open the pool and client sign-in needs."""
        auth = self._settings.auth
        if auth is None:
            yield
            return

        async with AsyncExitStack() as stack:
            # Tokens live in the catalog; a catalog from an older release
            # gets its tokens table now.
            await Catalog(self._settings.database_url).prepare()
            # One token lookup per request signed in with a token.
            pool = await asyncpg.create_pool(
                self._settings.database_url,
                database=CATALOG_DATABASE,
                min_size=1,
                max_size=self._settings.pool_max_size,
            )
            stack.push_async_callback(pool.close)
            session = await stack.enter_async_context(aiohttp.ClientSession())
            self.tokens = TokenStore(pool)
            self._authenticator = self._sign_in(auth, self.tokens, session)

            yield

    def _sign_in(
        self, auth: AuthSettings, tokens: TokenStore, session: aiohttp.ClientSession
    ) -> SignIn:
        default_tenant = self._settings.default_tenant
        verifier = issuer = None
        if auth.jwt is not None:
            issuer = Issuer(auth.jwt, session)
            keys = KeySet(
                issuer.jwks,
                lifetime=auth.jwt.jwks_lifetime_seconds,
                min_refresh=auth.jwt.jwks_min_refresh_seconds,
            )
            verifier = JwtVerifier(auth.jwt, keys, default_tenant=default_tenant)
        proxy = None
        if auth.proxy is not None:
            proxy = ProxyHeaders(auth.proxy, default_tenant=default_tenant)
        sessions = None
        if auth.session is not None:
            if issuer is None or verifier is None:
                raise InvalidParameter("Browser sign-in needs an OIDC issuer")
            sessions = SessionCookies(auth.session, prefix=self._settings.prefix)
            self.login = BrowserLogin(
                issuer, verifier, sessions, prefix=self._settings.prefix
            )

        log.info(
            "sign_in_configured",
            jwt_issuer=auth.jwt.issuer if auth.jwt else None,
            proxy_trusted=list(auth.proxy.trusted) if auth.proxy else None,
            browser_sessions=sessions is not None,
            script_tokens=True,
        )

        return SignIn(tokens, jwt=verifier, proxy=proxy, sessions=sessions)
