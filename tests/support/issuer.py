"""A tiny OpenID Connect issuer for tests, serving real HTTP from a thread.

It publishes a discovery document and a key set of RSA keys made with
``cryptography``, signs tokens with them, can rotate its key, and runs an
authorization-code flow with PKCE that approves every sign-in at once.
"""

import asyncio
import base64
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.server import free_port

API_AUDIENCE = "calabi-tracking"
CLIENT_ID = "calabi-web"


class SigningKey:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:12]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(
            self.private.public_key(), as_dict=True
        )
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


class Issuer:
    """The issuer's state; the aiohttp app below serves it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.keys = [SigningKey()]
        self.jwks_fetches = 0
        # Claims the authorization-code flow puts in the tokens it issues.
        self.login_claims: dict[str, Any] = {}
        self._codes: dict[str, dict[str, Any]] = {}

    @property
    def key(self) -> SigningKey:
        return self.keys[-1]

    def rotate(self) -> None:
        """Sign with a new key from now on, and withdraw the old one."""
        self.keys = [SigningKey()]

    def token(
        self,
        *,
        key: SigningKey | None = None,
        expires_in: int = 300,
        **claims: Any,
    ) -> str:
        """A signed access token; ``claims`` add to or replace the defaults."""
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": API_AUDIENCE,
            "sub": "alice",
            "iat": now,
            "exp": now + expires_in,
            **claims,
        }
        signer = key or self.key
        return jwt.encode(
            payload, signer.private, algorithm="RS256", headers={"kid": signer.kid}
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/jwks", self._jwks)
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        return app

    async def _discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_fetches += 1
        return web.json_response({"keys": [key.jwk() for key in self.keys]})

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="PKCE S256 required")
        code = secrets.token_urlsafe(16)
        self._codes[code] = {
            "challenge": query["code_challenge"],
            "redirect_uri": query["redirect_uri"],
            "client_id": query["client_id"],
            "nonce": query.get("nonce"),
        }
        answer = urlencode({"code": code, "state": query["state"]})
        return web.Response(
            status=302, headers={"Location": f"{query['redirect_uri']}?{answer}"}
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant = self._codes.pop(str(form.get("code")), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        digest = hashlib.sha256(str(form.get("code_verifier")).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return web.json_response({"error": "invalid_grant"}, status=400)

        claims = self.login_claims
        return web.json_response(
            {
                "access_token": self.token(**claims),
                "id_token": self.token(
                    aud=grant["client_id"], nonce=grant["nonce"], **claims
                ),
                "token_type": "Bearer",
            }
        )


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    """Serve an issuer on a loopback port until the block ends."""
    port = free_port()
    issuer = Issuer(f"http://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(issuer.app(), access_log=None)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name="oidc-issuer", daemon=True)
    thread.start()
    started.wait(timeout=30)

    try:
        yield issuer
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
