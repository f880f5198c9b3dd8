"""Which runs a compiled run search matches, page by page."""

from typing import NamedTuple

import asyncpg

from projections.search import sql
from projections.search.run_query import RunKey, Segment
from tracker.db import Connection


class Match(NamedTuple):
    run_id: str
    # Where the run stands in its segment's order, when the segment can
    # resume after it.
    key: RunKey | None


async def matching_runs(
    connection: Connection,
    segments: list[Segment],
    offset: int,
    limit: int,
    after: RunKey | None = None,
) -> list[Match]:
    """A run search's matches ``offset`` to ``offset + limit``.

    Each segment continues the order where the one before it ends, so a page
    reads a segment only once the earlier ones are used up.  Given the last
    run of the previous page, ``after``, a page starts right after it
    instead of skipping ``offset`` runs again.  The segments of one page are
    read from one snapshot: a run the projector moves from one segment to
    another meanwhile is neither missed nor listed twice.

    Raises:
        InvalidParameter: ``offset`` or ``limit`` is not a bigint >= 0.
    """
    skip, wanted = sql.count(offset, "offset"), sql.count(limit, "limit")
    if after is not None and segments[after.segment].resume is None:
        after = None
    if len(segments) == 1:
        return await _matches(connection, segments, skip, wanted, after)

    async with connection.transaction(isolation="repeatable_read", readonly=True):
        return await _matches(connection, segments, skip, wanted, after)


async def _matches(
    connection: Connection,
    segments: list[Segment],
    skip: int,
    wanted: int,
    after: RunKey | None,
) -> list[Match]:
    matches: list[Match] = []
    first = 0 if after is None else after.segment
    for index in range(first, len(segments)):
        if len(matches) == wanted:
            break

        segment = segments[index]
        rows = await _rows(connection, segment, skip, wanted - len(matches), after)
        matches += [_match(index, row) for row in rows]
        # The segment ended within this page, or before it began.
        if after is not None or rows:
            skip, after = 0, None
        elif skip:
            skip -= min(skip, await connection.fetchval(segment.count, *segment.values))

    return matches


async def _rows(
    connection: Connection,
    segment: Segment,
    skip: int,
    limit: int,
    after: RunKey | None,
) -> list[asyncpg.Record]:
    if after is None or segment.resume is None:
        return await connection.fetch(segment.select, *segment.values, skip, limit)

    return await connection.fetch(
        segment.resume,
        *segment.values,
        after.value,
        after.start_time,
        after.run_id,
        limit,
    )


def _match(segment: int, row: asyncpg.Record) -> Match:
    if len(row) == 1:
        return Match(row[0], None)
    return Match(row[0], RunKey(segment, row[1], row[2], row[0]))
