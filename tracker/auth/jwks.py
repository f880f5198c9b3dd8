"""The issuer's signing keys (its JWKS), fetched on demand and cached.

Keys are trusted for a lifetime, then fetched again, which is how a key the
issuer withdrew stops being accepted.  A token signed by a key not in the
cached set makes the cache fetch at once, which is how a rotation is picked
up; but at most once per ``min_refresh`` seconds, so tokens naming made-up
key ids cannot turn the server into a flood of requests to the issuer.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
import structlog

from tracker.errors import Unauthenticated, Unavailable

log = structlog.get_logger("calabi.auth")

FetchKeys = Callable[[], Awaitable[dict[str, Any]]]


class KeySet:
    """The signing keys of one issuer."""

    def __init__(
        self,
        fetch: FetchKeys,
        *,
        lifetime: float,
        min_refresh: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._lifetime = lifetime
        self._min_refresh = min_refresh
        self._clock = clock
        self._jwks: list[dict[str, Any]] | None = None
        self._fetched_at = -float("inf")
        self._tried_at = -float("inf")
        self._keys: dict[tuple[str | None, str], jwt.PyJWK] = {}
        self._refreshing = asyncio.Lock()

    async def key(self, kid: str | None, algorithm: str) -> jwt.PyJWK:
        """The key with id ``kid`` for ``algorithm``.

        Raises:
            Unauthenticated: the issuer has no such key.
            Unavailable: the keys could not be fetched, and none are cached.
        """
        if self._clock() - self._fetched_at >= self._lifetime:
            await self._refresh()

        found = self._find(kid, algorithm)
        if found is None:
            await self._refresh()
            found = self._find(kid, algorithm)
        if found is None:
            raise Unauthenticated("The bearer token is signed by an unknown key")

        return found

    async def _refresh(self) -> None:
        """Fetch the keys, unless they were tried too recently to try again."""
        asked_at = self._clock()

        async with self._refreshing:
            # Another request fetched while this one waited for the lock.
            fetched_meanwhile = self._tried_at >= asked_at
            if not fetched_meanwhile and asked_at - self._tried_at >= self._min_refresh:
                await self._fetch_now()

        if self._jwks is None:
            msg = "The identity provider's signing keys cannot be fetched"
            raise Unavailable(msg)

    async def _fetch_now(self) -> None:
        self._tried_at = self._clock()
        try:
            document = await self._fetch()
            keys = document.get("keys")
            if not isinstance(keys, list):
                raise ValueError("the document holds no 'keys' list")
        except (TimeoutError, OSError, ValueError) as error:
            # Keys already cached stay in use while the issuer is unreachable.
            log.warning("jwks_fetch_failed", error=str(error))
            return

        self._jwks = [key for key in keys if isinstance(key, dict)]
        self._keys.clear()
        self._fetched_at = self._tried_at
        log.info("jwks_fetched", keys=len(self._jwks))

    def _find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        if (kid, algorithm) in self._keys:
            return self._keys[kid, algorithm]

        candidates = [
            jwk
            for jwk in self._jwks or []
            if jwk.get("use", "sig") == "sig"
            and jwk.get("alg", algorithm) == algorithm
            and (kid is None or jwk.get("kid") == kid)
        ]
        # Without a key id only a lone key is unambiguous.
        if len(candidates) != 1 and kid is None:
            return None
        for candidate in candidates:
            try:
                # The algorithm comes from the token, checked against the
                # allowed list by the caller; a key of another type fails here.
                key = jwt.PyJWK(candidate, algorithm)
            except jwt.PyJWTError:
                continue
            self._keys[kid, algorithm] = key
            return key

        return None
