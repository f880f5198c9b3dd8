"""Experiment reads."""

import asyncpg

from projections.views import Experiment, KeyValue
from tracker.db import Connection

_COLUMNS = (
    "experiment_id, name, artifact_location, lifecycle_stage,"
    " creation_time, last_update_time"
)


async def experiments_by_id(
    connection: Connection, experiment_ids: list[int]
) -> list[Experiment]:
    """Return the experiments with these ids, in the order given."""
    rows = await connection.fetch(
        f"SELECT {_COLUMNS} FROM rm.experiments WHERE experiment_id = ANY($1::int8[])",
        experiment_ids,
    )
    tags = await connection.fetch(
        "SELECT experiment_id, key, value FROM rm.experiment_tags"
        " WHERE experiment_id = ANY($1::int8[]) ORDER BY key",
        experiment_ids,
    )
    tags_by_experiment: dict[int, list[KeyValue]] = {}
    for tag in tags:
        tags_by_experiment.setdefault(tag["experiment_id"], []).append(
            KeyValue(tag["key"], tag["value"])
        )

    found = {
        row["experiment_id"]: _experiment(row, tags_by_experiment.get(row[0], []))
        for row in rows
    }

    return [found[eid] for eid in experiment_ids if eid in found]


async def experiment_by_id(
    connection: Connection, experiment_id: int
) -> Experiment | None:
    found = await experiments_by_id(connection, [experiment_id])
    return found[0] if found else None


async def experiment_by_name(connection: Connection, name: str) -> Experiment | None:
    experiment_id = await connection.fetchval(
        "SELECT experiment_id FROM rm.experiments WHERE name = $1", name
    )
    if experiment_id is None:
        return None
    return await experiment_by_id(connection, experiment_id)


def _experiment(row: asyncpg.Record, tags: list[KeyValue]) -> Experiment:
    return Experiment(
        experiment_id=str(row["experiment_id"]),
        name=row["name"],
        artifact_location=row["artifact_location"],
        lifecycle_stage=row["lifecycle_stage"],
        last_update_time=row["last_update_time"],
        creation_time=row["creation_time"],
        tags=tags,
    )
