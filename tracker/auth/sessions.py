"""The web UI's session cookie, and its guard against cross-site requests.

The cookie holds the signed-in identity as a JWT signed with the session
secret (HS256, its own audience, so it can never pass for a bearer token).
It is HTTP-only, Secure and SameSite=Lax.  A request that changes something
and is authenticated by the cookie must also come from our own origin:
SameSite keeps most cross-site requests from carrying the cookie, and the
Origin check refuses those that still would (a form posted from a sibling
subdomain, an old browser).
"""

import time
from urllib.parse import urlsplit

import jwt
from aiohttp import web

from tracker.auth.identity import Identity, Via, checked_tenant, checked_user
from tracker.auth.roles import parse_role
from tracker.config import SessionSettings
from tracker.errors import InvalidParameter, PermissionDenied, Unauthenticated

SESSION_COOKIE = "calabi_session"
SESSION_AUDIENCE = "calabi-session"
_ALGORITHM = "HS256"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Fetch metadata a browser sends with every request; these two mean the
# request was not made by another site.
_OWN_SITE = frozenset({"same-origin", "none"})


class SessionCookies:
    """Issues and reads session cookies."""

    def __init__(self, settings: SessionSettings, *, prefix: str) -> None:
        self.settings = settings
        self.path = prefix or "/"

    def issue(self, response: web.StreamResponse, identity: Identity) -> None:
        now = int(time.time())
        claims = {
            "aud": SESSION_AUDIENCE,
            "sub": identity.user,
            "tenant": identity.tenant,
            "role": identity.role.label,
            "iat": now,
            "exp": now + self.settings.lifetime_seconds,
        }
        value = jwt.encode(claims, self.settings.secret, algorithm=_ALGORITHM)
        self.set_cookie(
            response, SESSION_COOKIE, value, max_age=self.settings.lifetime_seconds
        )

    def set_cookie(
        self, response: web.StreamResponse, name: str, value: str, *, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.path,
            secure=self.settings.secure_cookie,
            httponly=True,
            samesite="Lax",
        )

    def clear(self, response: web.StreamResponse) -> None:
        response.del_cookie(SESSION_COOKIE, path=self.path)

    def identify(self, request: web.Request) -> Identity | None:
        """The session's identity; None if the request carries no session.

        Raises:
            Unauthenticated: the cookie is expired or forged.
            PermissionDenied: a change asked for from another site.
        """
        value = request.cookies.get(SESSION_COOKIE)
        if not value:
            return None

        try:
            claims = jwt.decode(
                value,
                self.settings.secret,
                algorithms=[_ALGORITHM],
                audience=SESSION_AUDIENCE,
                options={"require": ["exp", "sub", "aud"]},
            )
            role = parse_role(str(claims.get("role")))
        except (jwt.PyJWTError, InvalidParameter):
            msg = "The session has expired or is invalid; sign in again"
            raise Unauthenticated(msg) from None
        if request.method not in _SAFE_METHODS and not _from_own_site(request):
            msg = "Cross-site request refused: it must come from this server's pages"
            raise PermissionDenied(msg)

        return Identity(
            tenant=checked_tenant(claims.get("tenant"), "session"),
            user=checked_user(claims.get("sub"), "session"),
            role=role,
            via=Via.SESSION,
        )


def _from_own_site(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc == request.host

    fetch_site = request.headers.get("Sec-Fetch-Site")
    return fetch_site in _OWN_SITE
