"""Who a verified caller is: their tenant, their name and their role there."""

import enum
import unicodedata
from typing import TypeGuard

import msgspec

from tracker.auth.roles import Role
from tracker.errors import InvalidParameter, Unauthenticated
from tracker.tenancy.names import check_tenant_name

MAX_USER_LENGTH = 256


class Via(enum.StrEnum):
    """How the caller proved who they are."""

    LOCAL = "local"
    JWT = "jwt"
    TOKEN = "token"
    PROXY = "proxy"
    SESSION = "session"


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    tenant: str
    user: str
    role: Role
    via: Via


def usable_user(user: object) -> TypeGuard[str]:
    """Whether ``user`` is fit to be recorded as an event's actor.

    Control characters are refused: they could forge lines in logs and in
    audit output.
    """
    return (
        isinstance(user, str)
        and bool(user.strip())
        and len(user) <= MAX_USER_LENGTH
        and not any(unicodedata.category(char).startswith("C") for char in user)
    )


def checked_user(user: object, source: str) -> str:
    """``user`` if usable, else Unauthenticated naming the ``source``."""
    if not usable_user(user):
        raise Unauthenticated(f"The {source} names no usable user")

    return user


def checked_tenant(tenant: object, source: str) -> str:
    """A tenant name as the catalog spells them, or Unauthenticated."""
    if not isinstance(tenant, str):
        raise Unauthenticated(f"The {source} names no tenant")
    try:
        return check_tenant_name(tenant)
    except InvalidParameter:
        raise Unauthenticated(f"The {source} names no valid tenant") from None
