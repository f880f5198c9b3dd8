"""Script and CI tokens: made once, kept only as a hash, revocable at once.

A token reads ``calabi_<token_id>_<secret>``.  The id is public and finds
the row; the secret carries 256 random bits and is kept only as its SHA-256,
which a fast hash suffices for at that entropy.  The stored and presented
hashes are compared in constant time.

Every request looks its token up in the catalog: nothing is cached, so a
revoked token is refused from the next request on, by every server process.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import asyncpg
import msgspec
from asyncpg.pool import PoolAcquireContext

from tracker.auth.identity import MAX_USER_LENGTH, Identity, Via, usable_user
from tracker.auth.roles import Role, parse_role
from tracker.db import Connection
from tracker.errors import InvalidParameter, NotFound, Unauthenticated
from tracker.tenancy.names import check_tenant_name

TOKEN_PREFIX = "calabi_"
_TOKEN = re.compile(r"^calabi_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
# Compared against when no row matches, so a miss costs what a hit does.
_NO_SUCH_HASH = hashlib.sha256(b"no such token").digest()


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    # Shown once, to whoever asked for the token; never stored.
    token: str


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    token_id: str
    tenant: str
    user: str
    role: str
    description: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def looks_like_token(text: str) -> bool:
    """Whether ``text`` is shaped as one of our tokens (it may still be bad)."""
    return text.startswith(TOKEN_PREFIX)


def token_id_of(text: str) -> str:
    """The id of a token given whole or by its id alone."""
    whole = _TOKEN.match(text)
    if whole is not None:
        return whole.group(1)
    if _TOKEN_ID.match(text):
        return text
    raise InvalidParameter("Not a token or token id")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class TokenStore:
    """The tokens table of the catalog database."""

    def __init__(self, pool: "asyncpg.Pool[asyncpg.Record]") -> None:
        self._pool = pool

    def connection(self) -> "PoolAcquireContext[asyncpg.Record]":
        """A connection of the store's pool, for creating and revoking tokens."""
        return self._pool.acquire()

    async def identify(self, text: str) -> Identity:
        """The identity a presented token stands for.

        Raises:
            Unauthenticated: the token is malformed, unknown, expired or revoked.
        """
        parsed = _TOKEN.match(text)
        if parsed is None:
            raise Unauthenticated("The token is malformed")
        token_id, secret = parsed.groups()

        async with self._pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT secret_hash, tenant, user_name, role FROM tokens"
                " WHERE token_id = $1 AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > now())",
                token_id,
            )

        stored = row["secret_hash"] if row is not None else _NO_SUCH_HASH
        matches = hmac.compare_digest(bytes(stored), _digest(secret))
        if row is None or not matches:
            raise Unauthenticated("The token is unknown, expired or revoked")

        return Identity(
            tenant=row["tenant"],
            user=row["user_name"],
            role=parse_role(row["role"]),
            via=Via.TOKEN,
        )


async def create_token(
    connection: Connection,
    *,
    tenant: str,
    user: str,
    role: Role,
    created_by: str,
    description: str = "",
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Make a token for ``user`` in ``tenant``; only its hash is stored.

    Raises:
        InvalidParameter: the user name is unusable.
        NotFound: the tenant does not exist.
    """
    check_tenant_name(tenant)
    if not usable_user(user):
        msg = (
            f"Invalid user name {user!r}: use 1 to {MAX_USER_LENGTH} characters "
            "and no control characters."
        )
        raise InvalidParameter(msg)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)

    try:
        await connection.execute(
            "INSERT INTO tokens (token_id, secret_hash, tenant, user_name, role,"
            " description, created_by, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            token_id,
            _digest(secret),
            tenant,
            user,
            role.label,
            description,
            created_by,
            expires_at,
        )
    except asyncpg.ForeignKeyViolationError:
        raise NotFound(f"Tenant '{tenant}' does not exist") from None

    return IssuedToken(token_id=token_id, token=f"{TOKEN_PREFIX}{token_id}_{secret}")


async def revoke_token(
    connection: Connection, token_id: str, *, tenant: str | None = None
) -> bool:
    """Revoke a token at once; False if no such live token (in ``tenant``)."""
    revoked: str | None = await connection.fetchval(
        "UPDATE tokens SET revoked_at = now()"
        " WHERE token_id = $1 AND revoked_at IS NULL"
        " AND ($2::text IS NULL OR tenant = $2)"
        " RETURNING token_id",
        token_id,
        tenant,
    )
    return revoked is not None


async def list_tokens(
    connection: Connection, *, tenant: str | None = None
) -> list[TokenInfo]:
    """The tokens, of one tenant or of all, oldest first; never their secrets."""
    rows = await connection.fetch(
        "SELECT token_id, tenant, user_name, role, description, created_by,"
        " created_at, expires_at, revoked_at FROM tokens"
        " WHERE $1::text IS NULL OR tenant = $1"
        " ORDER BY created_at, token_id",
        tenant,
    )
    return [
        TokenInfo(
            token_id=row["token_id"],
            tenant=row["tenant"],
            user=row["user_name"],
            role=row["role"],
            description=row["description"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )
        for row in rows
    ]
