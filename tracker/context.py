"""Who is asking, carried through a request in a context variable.

The HTTP layer sets it once per request; the append path reads the actor and
request id from it for event metadata and records the positions it wrote, and
the read barrier records how long it waited, so the request's log line can
name them.
"""

from contextvars import ContextVar

import msgspec


class RequestContext(msgspec.Struct, kw_only=True):
    tenant: str
    actor: str
    request_id: str
    client: str | None = None
    user_agent: str | None = None
    positions: list[int] = msgspec.field(default_factory=list)
    # Time spent waiting for the projectors before reading, in seconds.
    barrier_wait: float = 0.0


current_request: ContextVar[RequestContext | None] = ContextVar(
    "current_request", default=None
)
