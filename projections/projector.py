"""The projector: folds a tenant's log into its read models, batch by batch.

Each batch runs in one transaction that locks the projector's checkpoint
row, reads the events after it, writes the read models and moves the
checkpoint.  A crash anywhere rolls the whole batch back, so a restart
neither loses nor doubles an event; a second projector process skips a
batch whose row is locked instead of applying it twice.

Positions are gapless by construction (see schemas/tenant/0001_event_log.sql),
so a hole in what the projector reads means the log was tampered with or
bypassed.  The projector then stops and says so; it never skips.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from importlib.resources.abc import Traversable

import asyncpg
import structlog

from projections.effective_history import effective_ranges, is_effective, load_markers
from tracker.db import Connection
from tracker.errors import ProjectionStopped
from tracker.eventlog.codec import codec
from tracker.eventlog.events import Event

log = structlog.get_logger("calabi.projector")

Fold = Callable[[Connection, Sequence[Event]], Awaitable[None]]


# How often a read waiting for the projectors looks again when another
# process holds the checkpoint and this one learns of progress only by
# reading it.
FOLLOW_POLL = 0.005


# One round trip begins a batch: it takes the checkpoint, puts the read
# models' schema on the search path, tells whether any restore happened,
# reads the events after the checkpoint, and lets the commit return before
# its WAL reaches the disk.  That last is safe here, and only here: the
# checkpoint moves in the same transaction, so a crash that loses the batch
# loses its checkpoint too, and the batch is folded again from the durable
# log.  No row at all means another process holds the checkpoint; one row
# with no event means the log has nothing new.
_LOCK_AND_READ = """
WITH checkpoint AS (
    SELECT position,
           EXISTS (SELECT 1 FROM es.restore_markers) AS restored,
           set_config('search_path', $2, true),
           set_config('synchronous_commit', 'off', true)
    FROM es.checkpoints WHERE projector = $1
    FOR UPDATE SKIP LOCKED
)
SELECT c.position, c.restored, e.*
FROM checkpoint c LEFT JOIN LATERAL (
    SELECT position, event_type, schema_version,
           CASE WHEN $4::text[] IS NULL OR event_type = ANY($4::text[])
           THEN data END
    FROM es.events
    WHERE position > c.position
    ORDER BY position LIMIT $3
) e ON true
ORDER BY e.position
"""


class LogHole(Exception):
    """The log skips a position; projecting past it would lose an event."""


class Projector:
    """Keeps one tenant's read models current with its log."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        name: str,
        fold: Fold,
        definition: Traversable,
        schema: str,
        event_types: Iterable[type[Event]] | None = None,
        batch_size: int = 2000,
        idle_poll: float = 0.5,
    ) -> None:
        self.name = name
        # The events the fold reads; the others still move the checkpoint,
        # but their data is neither fetched nor decoded.  None: every event.
        self.event_types = (
            None if event_types is None else sorted(t.__name__ for t in event_types)
        )
        # The schema the read models live in; the definition and the fold name
        # tables without it and run with it first on the search path.
        self.schema = schema
        self.position = 0
        self.failure: BaseException | None = None
        self._pool = pool
        self._fold = fold
        self._definition = definition
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()
        # Whether another process held the checkpoint at the last look.
        self._following = False

    # Lifecycle --------------------------------------------------------------

    @property
    def fold(self) -> Fold:
        return self._fold

    def definition(self) -> tuple[str, str]:
        """The read models' DDL, and the digest a checkpoint records for it."""
        ddl = self._definition.read_text()
        return ddl, hashlib.sha256(ddl.encode()).hexdigest()

    async def rebuild(self) -> None:
        """Drop the read models and start again from the first event."""
        await self.prepare(force=True)

    async def prepare(self, *, force: bool = False) -> None:
        """Create the read models, or rebuild them if their definition changed."""
        ddl, digest = self.definition()

        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext('projector:' || $1))", self.name
            )
            current = await connection.fetchrow(
                "SELECT position, definition FROM es.checkpoints WHERE projector = $1",
                self.name,
            )
            if not force and current is not None and current["definition"] == digest:
                self.position = current["position"]
                return

            log.info("read_models_created", projector=self.name, digest=digest[:12])
            await create_schema(connection, self.schema, ddl)
            await connection.execute(
                "INSERT INTO es.checkpoints (projector, position, definition)"
                " VALUES ($1, 0, $2) ON CONFLICT (projector) DO UPDATE"
                " SET position = 0, definition = $2, updated_at = now()",
                self.name,
                digest,
            )
            self.position = 0

    async def run(self) -> None:
        """Project until cancelled; stop for good on an error."""
        try:
            while True:
                # Cleared before catching up, not after: a commit that wakes
                # the projector while it reads the log's (then) last batch
                # must make it look again rather than sleep a poll.
                self._wake.clear()
                await self.catch_up()
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_poll)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            self.failure = error
            log.error(
                "projector_stopped",
                projector=self.name,
                position=self.position,
                error=repr(error),
            )
            async with self._advanced:
                self._advanced.notify_all()
            raise

    def wake(self) -> None:
        """Ask for a batch now rather than at the next poll."""
        self._wake.set()

    # Work -------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Project batches until the log is exhausted; return events applied."""
        total = 0
        while applied := await self.project_batch():
            total += applied

        return total

    async def project_batch(self) -> int:
        """Fold the next batch of events; return how many were applied.

        Events before a hole are applied and committed, then ``LogHole`` is
        raised: the read models stay as current as the log allows.
        """
        async with self._pool.acquire() as connection, connection.transaction():
            locked = await connection.fetch(
                _LOCK_AND_READ,
                self.name,
                search_path(self.schema),
                self._batch_size,
                self.event_types,
            )
            self._following = not locked
            if not locked:
                # Another process is projecting; follow its progress.
                await self._advance(
                    await connection.fetchval(
                        "SELECT position FROM es.checkpoints WHERE projector = $1",
                        self.name,
                    )
                )
                return 0

            checkpoint, restored = locked[0][0], locked[0][1]
            rows = [row[2:] for row in locked if row[2] is not None]
            contiguous = _contiguous_prefix(checkpoint, [row[0] for row in rows])
            applied = rows[:contiguous]
            if applied:
                effective = await _effective_filter(connection, restored)
                events = [
                    codec.decode(row[1], row[2], row[3])
                    for row in applied
                    if row[3] is not None and effective(row[0])
                ]
                await self._fold(connection, events)
                await connection.execute(
                    "UPDATE es.checkpoints SET position = $2, updated_at = now()"
                    " WHERE projector = $1",
                    self.name,
                    applied[-1][0],
                )

        await self._advance(applied[-1][0] if applied else checkpoint)
        if contiguous < len(rows):
            hole = (applied[-1][0] if applied else checkpoint) + 1
            msg = f"the log has no event at position {hole}; refusing to skip it"
            raise LogHole(msg)

        return len(applied)

    # Read barrier -----------------------------------------------------------

    async def wait_for(self, position: int, timeout: float) -> None:
        """Return once the read models include ``position``."""
        if self.position >= position:
            return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._advanced:
            while not (self.position >= position or self.failure is not None):
                if loop.time() >= deadline:
                    msg = f"read models are behind the log (at {self.position})"
                    raise ProjectionStopped(msg)
                # While another process holds the checkpoint, this one learns
                # of its progress only by looking again, so it is woken at
                # each round; otherwise its own batches notify the waiters.
                self.wake()
                poll = FOLLOW_POLL if self._following else timeout
                with suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._advanced.wait(),
                        min(poll, max(0.0, deadline - loop.time())),
                    )
        if self.failure is not None and self.position < position:
            raise ProjectionStopped("the projector stopped on an error")

    async def _advance(self, position: int) -> None:
        if position != self.position:
            self.position = position
            async with self._advanced:
                self._advanced.notify_all()


async def fetch_events(
    connection: Connection,
    after: int,
    limit: int,
    event_types: list[str] | None,
    upto: int | None = None,
) -> list[asyncpg.Record]:
    """Rows (position, type, schema version, data) of the events after ``after``.

    ``data`` is NULL for an event whose type is not in ``event_types`` (when
    that is given), so a fold never pays for events it would pass by.
    """
    rows: list[asyncpg.Record] = await connection.fetch(
        "SELECT position, event_type, schema_version,"
        " CASE WHEN $3::text[] IS NULL OR event_type = ANY($3::text[])"
        " THEN data END"
        " FROM es.events"
        " WHERE position > $1 AND ($4::bigint IS NULL OR position <= $4)"
        " ORDER BY position LIMIT $2",
        after,
        limit,
        event_types,
        upto,
    )
    return rows


async def _effective_filter(
    connection: Connection, restored: bool
) -> Callable[[int], bool]:
    """Which positions to fold: all, unless a restore superseded some.

    The history is judged as of the log's head, so a rebuild from the start
    skips what any later restore superseded.
    """
    markers = await load_markers(connection) if restored else []
    if not markers:
        return lambda position: True

    head = await connection.fetchval("SELECT last_position FROM es.head")
    ranges = effective_ranges(markers, head)

    return lambda position: is_effective(ranges, position)


async def create_schema(connection: Connection, schema: str, ddl: str) -> None:
    """Drop ``schema`` if it exists and create it anew from ``ddl``."""
    quoted = quote_identifier(schema)
    await connection.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
    await connection.execute(f"CREATE SCHEMA {quoted}")
    await use_schema(connection, schema)
    await connection.execute(ddl)


async def use_schema(connection: Connection, schema: str) -> None:
    """Put ``schema`` first on the search path for the current transaction."""
    await connection.execute(
        "SELECT set_config('search_path', $1, true)", search_path(schema)
    )


def search_path(schema: str) -> str:
    """The search path that puts ``schema`` first."""
    return f"{quote_identifier(schema)}, public"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _contiguous_prefix(checkpoint: int, positions: list[int]) -> int:
    """How many of ``positions`` follow ``checkpoint`` with no hole."""
    for index, position in enumerate(positions):
        if position != checkpoint + 1 + index:
            return index
    return len(positions)
