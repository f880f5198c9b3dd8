"""Restore a tenant to a point in time, keeping the whole log.

The restore appends a ``TenantRestored`` marker through the normal append
path and holds the tenant's writes in the same transaction.  It then builds
every projector's read models from the effective history (which the marker
now defines as the history up to the target) beside the live ones, which
keep serving reads.  One transaction switches the new generations in,
derives the write-side decision state from them and releases the writes.
Nothing in the log is deleted or edited, and a later restore can undo this
one.  Identifiers come from sources no restore resets (a sequence, random
ids), so none handed out after the target is ever handed out again.
"""

from collections.abc import Sequence

import asyncpg
import msgspec
import structlog

from projections.generations import (
    Built,
    Progress,
    TableDrift,
    build_generation,
    compare_generations,
    drop_generation,
    switch_generation,
)
from projections.projector import Projector
from schemas import sql_files
from tracker.admin.exclusive import maintenance
from tracker.clock import now_ms
from tracker.errors import InvalidParameter, InvalidState
from tracker.eventlog.append import EventWriter
from tracker.eventlog.events import TenantRestored

log = structlog.get_logger("calabi.restore")

TENANT_STREAM = "tenant"


class RestorePreview(msgspec.Struct, frozen=True):
    target: int
    head: int
    drift: list[TableDrift]


class RestoreDone(msgspec.Struct, frozen=True):
    target: int
    marker: int
    built: list[Built]


async def check_target(pool: asyncpg.Pool, target: int) -> int:
    """The log's head, after checking that ``target`` lies inside the log."""
    head: int = await pool.fetchval("SELECT last_position FROM es.head")
    if not 0 <= target <= head:
        msg = f"the target position must be between 0 and {head}, not {target}"
        raise InvalidParameter(msg)
    return head


async def preview_restore(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    target: int,
    progress: Progress | None = None,
) -> RestorePreview:
    """What a restore to ``target`` would change, changing nothing.

    The state at the target is built into scratch schemas, compared with the
    live read models table by table, and dropped.
    """
    head = await check_target(pool, target)

    drift: list[TableDrift] = []
    async with maintenance(pool):
        for projector in projectors:
            scratch = f"{projector.schema}_preview"
            await build_generation(pool, projector, scratch, target, progress=progress)
            async with pool.acquire() as connection:
                try:
                    drift += await compare_generations(
                        connection, projector.schema, scratch
                    )
                finally:
                    await drop_generation(connection, scratch)

    return RestorePreview(target=target, head=head, drift=drift)


async def restore(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    target: int,
    *,
    reason: str,
    progress: Progress | None = None,
) -> RestoreDone:
    """Take the tenant back to ``target``; the actor comes from the request context."""
    if not reason.strip():
        raise InvalidParameter("a restore needs a reason")
    head = await check_target(pool, target)

    async with maintenance(pool):
        if await _unfinished_marker(pool) is not None:
            msg = "an earlier restore did not finish; resume it first"
            raise InvalidState(msg)
        marker = await _append_marker(pool, target, head, reason)
        log.info("restore_started", target=target, marker=marker)
        built = await _complete(pool, projectors, marker, progress)

    log.info("restore_completed", target=target, marker=marker)

    return RestoreDone(target=target, marker=marker, built=built)


async def resume_restore(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    progress: Progress | None = None,
) -> RestoreDone | None:
    """Finish a restore whose command stopped after appending its marker."""
    async with maintenance(pool):
        unfinished = await _unfinished_marker(pool)
        if unfinished is None:
            return None
        marker, target = unfinished
        built = await _complete(pool, projectors, marker, progress)

    return RestoreDone(target=target, marker=marker, built=built)


async def _unfinished_marker(pool: asyncpg.Pool) -> tuple[int, int] | None:
    row = await pool.fetchrow(
        "SELECT position, target FROM es.restore_markers WHERE completed_at IS NULL"
    )
    return (row["position"], row["target"]) if row is not None else None


async def _complete(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    marker: int,
    progress: Progress | None,
) -> list[Built]:
    built = [
        await build_generation(
            pool, projector, f"{projector.schema}_next", marker, progress=progress
        )
        for projector in projectors
    ]
    async with pool.acquire() as connection, connection.transaction():
        for projector, generation in zip(projectors, built, strict=True):
            await switch_generation(connection, projector, generation)
        for derivation in sql_files("restore"):
            await connection.execute(derivation.read_text())
        await connection.execute(
            "UPDATE es.restore_markers SET completed_at = now() WHERE position = $1",
            marker,
        )
        await connection.execute(
            "UPDATE es.head SET writes_frozen = false WHERE id = 1"
        )

    return built


async def _append_marker(
    pool: asyncpg.Pool, target: int, head: int, reason: str
) -> int:
    event = TenantRestored(
        target=target, superseded_to=head, reason=reason, restored_at=now_ms()
    )

    async with EventWriter(pool).transaction() as tx:
        marker = await tx.append(TENANT_STREAM, "tenant", [event])
        await tx.connection.execute(
            "INSERT INTO es.restore_markers (position, target) VALUES ($1, $2)",
            marker,
            target,
        )
        # Held from here until the restored state is in place.
        await tx.connection.execute(
            "UPDATE es.head SET writes_frozen = true WHERE id = 1"
        )

    return marker
