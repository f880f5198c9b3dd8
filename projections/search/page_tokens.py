"""Page tokens of the search endpoints: an offset, wrapped as MLflow wraps it.

The stock server sends ``base64(json.dumps({"offset": N}))`` and clients
treat the token as opaque, so any token we emitted must come back to the same
offset; the exact bytes match the stock server's only to ease comparisons.
"""

import base64
import binascii
import json
from collections.abc import Callable
from typing import TypeVar

import msgspec

from tracker.errors import InvalidParameter

T = TypeVar("T")

# OFFSET takes a bigint in PostgreSQL.
_MAX_OFFSET = 2**63 - 1


class _PageToken(msgspec.Struct):
    offset: int


_decode_token = msgspec.json.Decoder(_PageToken).decode


def encode_offset(n: int) -> str:
    """Wrap the offset of the next page into a page token.

    Args:
        n: How many results the earlier pages held; at least 0.

    Returns:
        The token to send as ``next_page_token``.
    """
    return base64.b64encode(json.dumps({"offset": n}).encode()).decode("ascii")


def decode_offset(token: str | None) -> int:
    """Unwrap the offset a page token carries.

    Args:
        token: A token from ``encode_offset``; ``None`` or empty for the
            first page.

    Returns:
        How many results to skip.

    Raises:
        InvalidParameter: The token is not one this server would have sent.
    """
    if not token:
        return 0

    try:
        decoded = base64.b64decode(token)
    except ValueError:  # binascii.Error, or text that is not ASCII
        raise InvalidParameter(
            f"Invalid page token '{token}', could not base64-decode"
        ) from None

    try:
        offset = _decode_token(decoded).offset
    except msgspec.DecodeError:
        raise InvalidParameter(
            f"Invalid page token '{token}', decoded value={decoded!r}"
        ) from None

    if not 0 <= offset <= _MAX_OFFSET:
        raise InvalidParameter(f"Invalid page token '{token}', offset={offset}")
    return offset


def read_token(token: str, read: Callable[[bytes], T]) -> T:
    """What ``read`` makes of a token's decoded JSON, beyond its offset.

    Tokens that carry more than an offset (a history's last point, a run
    search's last run) are read here, so that any way one is malformed is
    the same INVALID_PARAMETER_VALUE.

    Raises:
        InvalidParameter: The token is not base64, or ``read`` refuses it
            (with a msgspec validation error or a ValueError).
    """
    try:
        return read(base64.b64decode(token))
    except (binascii.Error, msgspec.ValidationError, ValueError):
        raise InvalidParameter(f"Invalid page token '{token}'") from None
