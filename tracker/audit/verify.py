"""Checking the log's hash chain and the contiguity of its positions.

Each event's hash covers the previous hash and every stored column (see
``es.event_hash``), so an edit, insertion or removal anywhere breaks the
chain at that point.  The report ends with the head's hash: recorded
outside the database, it also catches a rewrite of the chain's tail.
"""

import msgspec

from tracker.db import Connection

_CHAIN = """
SELECT position,
       hash,
       es.event_hash(
           coalesce(lag(hash) OVER w, '\\x'::bytea), position, stream_id,
           stream_version, event_type, schema_version, data, meta, recorded_at
       ) AS expected
  FROM es.events
WINDOW w AS (ORDER BY position)
 ORDER BY position
"""


class ChainBreak(msgspec.Struct, frozen=True):
    position: int
    problem: str


class ChainReport(msgspec.Struct, frozen=True):
    events: int
    head_position: int
    head_hash: str
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


async def verify_chain(connection: Connection, *, max_breaks: int = 20) -> ChainReport:
    """Walk the whole log once, in position order, with a server-side cursor."""
    breaks: list[ChainBreak] = []
    expected_position = 1
    last_hash = b""
    count = 0

    async with connection.transaction(readonly=True, isolation="repeatable_read"):
        head = await connection.fetchrow(
            "SELECT last_position, last_hash FROM es.head WHERE id = 1"
        )
        assert head is not None, "es.head always holds its one row"
        async for row in connection.cursor(_CHAIN, prefetch=5000):
            count += 1
            position = row["position"]
            if position != expected_position:
                breaks.append(
                    ChainBreak(position, f"expected position {expected_position} next")
                )
            if row["hash"] != row["expected"]:
                breaks.append(ChainBreak(position, "hash does not match the event"))
            expected_position = position + 1
            last_hash = row["hash"]
            if len(breaks) >= max_breaks:
                break

    if len(breaks) < max_breaks:
        if head["last_position"] != expected_position - 1:
            problem = f"the head says {head['last_position']}, the log ends earlier"
            breaks.append(ChainBreak(expected_position, problem))
        elif head["last_hash"] != last_hash:
            breaks.append(ChainBreak(expected_position - 1, "head hash differs"))

    return ChainReport(
        events=count,
        head_position=head["last_position"],
        head_hash=bytes(head["last_hash"]).hex(),
        breaks=breaks,
    )
