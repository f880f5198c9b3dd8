"""What a read must see before it runs: the scopes of the read barrier.

MLflow clients send no consistency token, so the server decides what each
read waits for.  The rule is that a read sees every write acknowledged
before it began that could change its answer.  Projectors apply the log in
order, so that means waiting until they pass the last such write:

* ``WholeLog``: any write could matter (searches, listings), so the log's
  head as the read begins;
* ``OwnWrites``: a write answering with what it wrote waits for its own
  last position; every write to the same entities committed before it has a
  smaller position;
* ``OneRun``: a read of one run depends only on the run's stream and its
  experiment's (a deleted experiment deletes its runs), and only on the
  tracking read models.  Under heavy ingest into other runs this is the
  difference between waiting for one's own write and for everyone's.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.commands.experiments import EXPERIMENT_STREAM_PREFIX
from tracker.commands.runs import run_stream
from tracker.db import Connection
from tracker.tenancy.projectors import TRACKING_PROJECTOR


@dataclass(frozen=True, slots=True)
class WholeLog:
    pass


@dataclass(frozen=True, slots=True)
class OwnWrites:
    position: int


@dataclass(frozen=True, slots=True)
class OneRun:
    run_id: str


ReadScope = WholeLog | OwnWrites | OneRun

WHOLE_LOG = WholeLog()

# The checkpoint of the projector furthest behind; -1 while one of them has
# no checkpoint yet (it is still being created).
_PROJECTED = (
    "SELECT CASE WHEN count(position) = cardinality($1::text[])"
    " THEN min(position) ELSE -1 END"
    " FROM es.checkpoints WHERE projector = ANY($1::text[])"
)

# The last event of the run's stream and of its experiment's stream; the
# head when the write side knows no such run (the read then finds none, or
# a restore is moving it).
_RUN_TARGET = (
    "SELECT coalesce(("
    " SELECT max(last.position) FROM decision.runs r"
    " CROSS JOIN LATERAL (VALUES ($2::text), ($3::text || r.experiment_id))"
    "  AS s(stream_id)"
    " CROSS JOIN LATERAL (SELECT e.position FROM es.events e"
    "  WHERE e.stream_id = s.stream_id ORDER BY e.stream_version DESC LIMIT 1)"
    "  AS last"
    " WHERE r.run_id = $4), (SELECT last_position FROM es.head))"
)


def projectors_for(scope: ReadScope, every: Sequence[str]) -> list[str]:
    """The projectors whose read models the scope's read uses."""
    if isinstance(scope, OneRun):
        return [TRACKING_PROJECTOR]
    return list(every)


async def positions(
    connection: Connection, scope: ReadScope, projectors: Sequence[str]
) -> tuple[int, int]:
    """The position the read must wait for, and where ``projectors`` are.

    One round trip for any scope.
    """
    names = list(projectors)
    match scope:
        case OwnWrites(position=position):
            projected = await connection.fetchval(_PROJECTED, names)
            return position, projected
        case OneRun(run_id=run_id):
            row = await connection.fetchrow(
                f"SELECT ({_RUN_TARGET}) AS target, ({_PROJECTED}) AS projected",
                names,
                run_stream(run_id),
                EXPERIMENT_STREAM_PREFIX,
                run_id,
            )
        case WholeLog():
            row = await connection.fetchrow(
                "SELECT (SELECT last_position FROM es.head) AS target,"
                f" ({_PROJECTED}) AS projected",
                names,
            )
    assert row is not None, "a SELECT of two scalars returns one row"
    return row["target"], row["projected"]
