"""Page tokens of the run search: an offset and the page's last run.

The stock server's token is an offset (``projections.search.page_tokens``).
Where a segment of the search can resume after a given run, ours names the
page's last run too, with its order key, so that the next page starts right
after it instead of skipping every earlier match again.  The key is only
used by the search it came from: a digest of the compiled statements and
their values says which one that is, and a token from another search (or
from the stock server) pages by its offset alone, as stock does.
"""

import base64
import hashlib
from typing import Annotated

import msgspec

from projections.search.page_tokens import decode_offset, read_token
from projections.search.run_query import RunKey, Segment

_INT64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _RunToken(msgspec.Struct):
    offset: int
    # (segment, value as float.hex() text, start_time, run_id)
    after: tuple[int, str, _INT64 | None, str] | None = None
    search: str | None = None


_encode_token = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(_RunToken).decode


def search_digest(segments: list[Segment]) -> str:
    """A short name of the compiled search, for its tokens to carry."""
    compiled = _encode_token([[s.select, s.values] for s in segments])
    return hashlib.sha256(compiled).hexdigest()[:16]


def encode_run_token(offset: int, last: RunKey | None, segments: list[Segment]) -> str:
    """The token of the page after ``offset`` runs, the last of them ``last``."""
    if last is None:
        token = _RunToken(offset)
    else:
        after = (last.segment, float.hex(last.value), last.start_time, last.run_id)
        token = _RunToken(offset, after, search_digest(segments))

    return base64.b64encode(_encode_token(token)).decode("ascii")


def decode_run_token(
    token: str | None, segments: list[Segment]
) -> tuple[int, RunKey | None]:
    """The offset a token carries and, if it is this search's, its last run.

    Raises:
        InvalidParameter: The token is not one this server, or the stock
            server, would have sent.
    """
    offset = decode_offset(token)
    if not token:
        return offset, None

    return offset, read_token(token, lambda data: _last_run(data, segments))


def _last_run(decoded: bytes, segments: list[Segment]) -> RunKey | None:
    token = _decode_token(decoded)
    if token.after is None or token.search != search_digest(segments):
        return None
    segment, value, start_time, run_id = token.after
    if not 0 <= segment < len(segments):
        raise ValueError(f"no segment {segment}")
    return RunKey(segment, float.fromhex(value), start_time, run_id)
