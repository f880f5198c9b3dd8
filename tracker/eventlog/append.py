"""The one path by which events enter a tenant's log.

``WriteTransaction.append`` calls ``es.append`` (schemas/tenant), which locks
the stream, checks its expected version and takes the tenant's head row
last.  Whatever a command writes to decision state in the same transaction
commits or rolls back with its events.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import asyncpg
import msgspec

from tracker.context import RequestContext, current_request
from tracker.db import Connection
from tracker.errors import ConcurrencyConflict, WritesFrozen
from tracker.eventlog.codec import codec
from tracker.eventlog.events import Event

WRONG_EXPECTED_VERSION = "CA001"
WRITES_FROZEN = "CA002"


class EventMeta(msgspec.Struct, frozen=True, omit_defaults=True):
    """Who did what, stored beside every event."""

    actor: str
    request_id: str | None = None
    client: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_request(cls, request: RequestContext | None) -> "EventMeta":
        if request is None:
            return cls(actor="system")
        return cls(
            actor=request.actor,
            request_id=request.request_id,
            client=request.client,
            user_agent=request.user_agent,
        )


_encode_meta = msgspec.json.Encoder().encode


class WriteTransaction:
    """A database transaction of one command, able to append events."""

    def __init__(self, connection: Connection, meta: EventMeta) -> None:
        self.connection = connection
        self.meta = meta
        self.last_position: int | None = None

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        events: Sequence[Event],
        *,
        expected_version: int | None = None,
    ) -> int:
        """Append ``events`` to one stream; return the last position written."""
        encoded = [codec.encode(event) for event in events]

        try:
            position: int = await self.connection.fetchval(
                "SELECT es.append($1, $2, $3, $4, $5, $6, $7::jsonb)",
                stream_id,
                stream_type,
                expected_version,
                [event_type for event_type, _, _ in encoded],
                [version for _, version, _ in encoded],
                [data for _, _, data in encoded],
                _encode_meta(self.meta).decode(),
            )
        except asyncpg.PostgresError as error:
            if error.sqlstate == WRONG_EXPECTED_VERSION:
                raise ConcurrencyConflict(str(error)) from error
            if error.sqlstate == WRITES_FROZEN:
                raise WritesFrozen("writes are held for this tenant") from error
            raise

        self.last_position = position

        return position


class EventWriter:
    """Opens write transactions on a tenant's database."""

    def __init__(
        self, pool: asyncpg.Pool, on_commit: Callable[[int], None] | None = None
    ) -> None:
        self._pool = pool
        self._on_commit = on_commit

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WriteTransaction]:
        request = current_request.get()
        meta = EventMeta.from_request(request)

        async with self._pool.acquire() as connection, connection.transaction():
            write = WriteTransaction(connection, meta)
            yield write

        if write.last_position is None:
            return
        if request is not None:
            request.positions.append(write.last_position)
        if self._on_commit is not None:
            self._on_commit(write.last_position)
