"""Bearer JWTs from the platform's OpenID Connect issuer.

A token is accepted when its signature checks against one of the issuer's
published keys, with an allowed asymmetric algorithm, and its ``iss``,
``aud``, ``exp`` and (when present) ``nbf`` claims hold.  The tenant, user
and role then come from the claims the settings name.
"""

from typing import Any

import aiohttp
import jwt
import msgspec

from tracker.auth.identity import Identity, Via, checked_tenant, checked_user
from tracker.auth.jwks import KeySet
from tracker.auth.roles import Role, parse_role
from tracker.config import JwtSettings
from tracker.errors import InvalidParameter, Unauthenticated

DISCOVERY_PATH = "/.well-known/openid-configuration"
_FETCH_TIMEOUT = aiohttp.ClientTimeout(total=10)
_MAX_DOCUMENT_BYTES = 1024 * 1024
_json_object = msgspec.json.Decoder(dict[str, Any])


class Issuer:
    """The issuer's published documents, over one HTTP client session."""

    def __init__(self, settings: JwtSettings, session: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._session = session
        self._metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched once."""
        if self._metadata is None:
            url = self._settings.issuer.rstrip("/") + DISCOVERY_PATH
            self._metadata = await self.get_json(url)

        return self._metadata

    async def jwks(self) -> dict[str, Any]:
        url = self._settings.jwks_url
        if url is None:
            url = (await self.metadata()).get("jwks_uri")
            if not isinstance(url, str):
                raise ValueError("the discovery document names no jwks_uri")

        return await self.get_json(url)

    async def get_json(self, url: str) -> dict[str, Any]:
        """A JSON object from the issuer.

        Raises:
            OSError: the issuer could not be reached or did not answer 200.
            ValueError: the answer is not a JSON object.
        """
        return await self._json("GET", url)

    async def post_form(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        """POST ``form`` to the issuer and return its JSON answer, as get_json."""
        return await self._json("POST", url, form)

    async def _json(
        self, method: str, url: str, form: dict[str, str] | None = None
    ) -> dict[str, Any]:
        try:
            async with self._session.request(
                method, url, data=form, timeout=_FETCH_TIMEOUT
            ) as response:
                if response.status != 200:
                    raise ConnectionError(f"{url} answered {response.status}")
                body = await response.content.read(_MAX_DOCUMENT_BYTES + 1)
        except aiohttp.ClientError as error:
            raise ConnectionError(f"{url}: {error}") from error
        if len(body) > _MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url} answered with an oversized document")

        try:
            return _json_object.decode(body)
        except msgspec.DecodeError as error:
            raise ValueError(f"{url} answered with no JSON object: {error}") from None


class JwtVerifier:
    """Turns a bearer JWT into the identity it vouches for."""

    def __init__(
        self, settings: JwtSettings, keys: KeySet, *, default_tenant: str
    ) -> None:
        self._settings = settings
        self._keys = keys
        self._default_tenant = default_tenant
        self._default_role = parse_role(settings.default_role)

    async def identify(self, token: str) -> Identity:
        """The identity ``token`` vouches for.

        Raises:
            Unauthenticated: the token is malformed, badly signed, expired,
                not yet valid, or for another issuer or audience.
        """
        claims = await self.verified_claims(token)

        return self.identity_of(claims)

    async def verified_claims(
        self, token: str, *, audience: str | None = None
    ) -> dict[str, Any]:
        """The claims of ``token`` once verified, for ``audience`` or the API's."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is not a valid JWT") from None
        algorithm = header.get("alg")
        if algorithm not in self._settings.algorithms:
            raise Unauthenticated("The bearer token uses a refused algorithm")
        kid = header.get("kid")
        key = await self._keys.key(kid if isinstance(kid, str) else None, algorithm)

        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience or self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The bearer token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("The bearer token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The bearer token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The bearer token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("The bearer token's signature is invalid") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is invalid") from None

    def identity_of(self, claims: dict[str, Any]) -> Identity:
        settings = self._settings
        tenant = (
            checked_tenant(claim(claims, settings.tenant_claim), "bearer token")
            if settings.tenant_claim is not None
            else self._default_tenant
        )
        user = checked_user(claim(claims, settings.user_claim), "bearer token")
        roles = claim(claims, settings.role_claim) if settings.role_claim else None

        return Identity(
            tenant=tenant,
            user=user,
            role=highest_role(roles, self._default_role),
            via=Via.JWT,
        )


def claim(claims: dict[str, Any], path: str) -> object:
    """The claim at a dotted ``path``, or None."""
    value: object = claims
    for name in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(name)

    return value


def highest_role(names: object, default: Role) -> Role:
    """The highest role among ``names`` (one name or a list); ``default`` if none.

    Names that are no role of ours (other applications' roles, in a shared
    claim) are passed over.
    """
    listed = [names] if isinstance(names, str) else names
    if not isinstance(listed, list):
        return default

    roles = []
    for name in listed:
        if isinstance(name, str):
            try:
                roles.append(parse_role(name))
            except InvalidParameter:
                continue

    return max(roles, default=default)
