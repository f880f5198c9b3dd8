"""The state of a run or an experiment as of a point, replayed from the log.

The state is folded by the projectors' own code into a scratch generation
built from the effective history up to the point, so it is exactly what the
API would have answered then.
"""

from collections.abc import Sequence
from typing import Any

import asyncpg

from projections.generations import build_generation, drop_generation
from projections.projector import Projector, quote_identifier
from tracker.db import Connection
from tracker.errors import NotFound

_RUN_TABLES = ("params", "tags", "latest_metrics", "run_inputs", "run_outputs")


async def state_at(
    pool: asyncpg.Pool,
    projectors: Sequence[Projector],
    position: int,
    *,
    run_id: str | None = None,
    experiment_id: int | None = None,
) -> dict[str, Any]:
    """Replay up to ``position`` and describe one run or experiment."""
    tracking = next(p for p in projectors if p.schema == "rm")
    scratch = f"rm_state_{position}"

    await build_generation(pool, tracking, scratch, position)
    async with pool.acquire() as connection:
        try:
            if run_id is not None:
                return await _run_state(connection, scratch, run_id)
            if experiment_id is not None:
                return await _experiment_state(connection, scratch, experiment_id)
            raise NotFound("name a run or an experiment")
        finally:
            await drop_generation(connection, scratch)


async def _run_state(
    connection: Connection, schema: str, run_id: str
) -> dict[str, Any]:
    run = await _rows(connection, schema, "runs", "run_id = $1", run_id)
    if not run:
        raise NotFound(f"Run with id={run_id} did not exist at that point")

    state: dict[str, Any] = {"run": run[0]}
    for table in _RUN_TABLES:
        state[table] = await _rows(connection, schema, table, "run_id = $1", run_id)
    quoted = quote_identifier(schema)
    state["metric_points"] = await connection.fetchval(
        f"SELECT count(*) FROM {quoted}.metrics m JOIN {quoted}.latest_metrics l"
        " USING (series) WHERE l.run_id = $1",
        run_id,
    )

    return state


async def _experiment_state(
    connection: Connection, schema: str, experiment_id: int
) -> dict[str, Any]:
    found = await _rows(
        connection, schema, "experiments", "experiment_id = $1", experiment_id
    )
    if not found:
        raise NotFound(f"Experiment {experiment_id} did not exist at that point")

    return {
        "experiment": found[0],
        "tags": await _rows(
            connection, schema, "experiment_tags", "experiment_id = $1", experiment_id
        ),
        "runs": await _rows(
            connection, schema, "runs", "experiment_id = $1", experiment_id
        ),
    }


async def _rows(
    connection: Connection, schema: str, table: str, where: str, value: object
) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(table)}"
        f" WHERE {where} ORDER BY 1, 2",
        value,
    )
    return [dict(row) for row in rows]
