"""Page tokens of the search endpoints: an offset, wrapped as MLflow wraps it.

The stock server sends ``base64(json.dumps({"offset": N}))`` and clients
treat the token as opaque, so any token we emitted must come back to the same
offset; the exact bytes match the stock server's only to ease comparisons.
"""

import base64
import json

import msgspec

from tracker.errors import InvalidParameter

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
