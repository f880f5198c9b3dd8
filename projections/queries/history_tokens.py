"""Page tokens of a metric history: an offset and the last point sent.

The stock server's history token is an offset, as its search tokens are
(``projections.search.page_tokens``).  Ours carries the page's last point
too, so the next page starts right after it in the primary key's order
instead of skipping ``offset`` points again: paging through a long history
reads each point once.  A token that carries an offset alone, as the stock
server's do, still works.
"""

import base64
from typing import Annotated

import msgspec

from projections.search.page_tokens import decode_offset, read_token

_INT64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

# (timestamp, step, value); the value as float.hex() text, which says NaN
# and the infinities as JSON numbers cannot.
Point = tuple[int, int, float]


class _HistoryToken(msgspec.Struct):
    offset: int
    after: tuple[_INT64, _INT64, str] | None = None


_encode_token = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(_HistoryToken).decode


def encode_history_token(offset: int, after: Point) -> str:
    """The token of the page that follows ``offset`` points, the last ``after``."""
    timestamp, step, value = after
    token = _HistoryToken(offset, (timestamp, step, float.hex(value)))
    return base64.b64encode(_encode_token(token)).decode("ascii")


def decode_history_token(token: str | None) -> tuple[int, Point | None]:
    """The offset a token carries and, if it names one, the last point sent.

    Raises:
        InvalidParameter: The token is not one this server, or the stock
            server, would have sent.
    """
    offset = decode_offset(token)
    if not token:
        return offset, None

    return offset, read_token(token, _last_point)


def _last_point(decoded: bytes) -> Point | None:
    after = _decode_token(decoded).after
    if after is None:
        return None
    timestamp, step, value = after
    return timestamp, step, float.fromhex(value)
