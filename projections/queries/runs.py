"""Run reads: a run with its latest metrics, params, tags and inputs."""

import asyncpg
import msgspec

from projections.views import (
    Dataset,
    DatasetInput,
    KeyValue,
    Metric,
    ModelOutput,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    wire_double,
)
from tracker.db import Connection

_decode_tags = msgspec.json.Decoder(list[KeyValue]).decode


async def runs_by_id(connection: Connection, run_ids: list[str]) -> list[Run]:
    """Return the runs with these ids, in the order given.

    Five statements whatever the number of runs, so a search page costs the
    same round trips as a single get.
    """
    runs = await connection.fetch(
        "SELECT * FROM rm.runs WHERE run_id = ANY($1::text[])", run_ids
    )
    params = await _key_values(connection, "rm.params", run_ids)
    tags = await _key_values(connection, "rm.tags", run_ids)
    metrics = await _latest_metrics(connection, run_ids)
    inputs = await _inputs(connection, run_ids)
    outputs = await _outputs(connection, run_ids)

    found = {
        row["run_id"]: Run(
            info=_info(row),
            data=RunData(
                metrics=metrics.get(row["run_id"], []),
                params=params.get(row["run_id"], []),
                tags=tags.get(row["run_id"], []),
            ),
            inputs=RunInputs(dataset_inputs=inputs.get(row["run_id"], [])),
            outputs=RunOutputs(model_outputs=outputs.get(row["run_id"], [])),
        )
        for row in runs
    }

    return [found[run_id] for run_id in run_ids if run_id in found]


async def run_by_id(connection: Connection, run_id: str) -> Run | None:
    found = await runs_by_id(connection, [run_id])
    return found[0] if found else None


async def run_exists(connection: Connection, run_id: str) -> bool:
    found: bool = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM rm.runs WHERE run_id = $1)", run_id
    )
    return found


def _info(row: asyncpg.Record) -> RunInfo:
    return RunInfo(
        run_id=row["run_id"],
        run_uuid=row["run_id"],
        run_name=row["run_name"],
        experiment_id=str(row["experiment_id"]),
        user_id=row["user_id"],
        status=row["status"],
        artifact_uri=row["artifact_uri"],
        lifecycle_stage=row["lifecycle_stage"],
        start_time=row["start_time"],
        end_time=row["end_time"],
    )


async def _key_values(
    connection: Connection, table: str, run_ids: list[str]
) -> dict[str, list[KeyValue]]:
    rows = await connection.fetch(
        f"SELECT run_id, key, value FROM {table}"
        " WHERE run_id = ANY($1::text[]) ORDER BY run_id, key",
        run_ids,
    )
    grouped: dict[str, list[KeyValue]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(KeyValue(row[1], row[2]))

    return grouped


async def _latest_metrics(
    connection: Connection, run_ids: list[str]
) -> dict[str, list[Metric]]:
    rows = await connection.fetch(
        "SELECT run_id, key, value, timestamp, step FROM rm.latest_metrics"
        " WHERE run_id = ANY($1::text[]) ORDER BY run_id, key",
        run_ids,
    )
    grouped: dict[str, list[Metric]] = {}
    for run_id, key, value, timestamp, step in rows:
        grouped.setdefault(run_id, []).append(
            Metric(key=key, value=wire_double(value), timestamp=timestamp, step=step)
        )

    return grouped


async def _inputs(
    connection: Connection, run_ids: list[str]
) -> dict[str, list[DatasetInput]]:
    rows = await connection.fetch(
        "SELECT i.run_id, i.tags::text AS tags, d.name, d.digest, d.source_type,"
        " d.source, d.schema, d.profile"
        " FROM rm.run_inputs i JOIN rm.datasets d"
        " ON d.experiment_id = i.experiment_id AND d.name = i.dataset_name"
        " AND d.digest = i.dataset_digest"
        " WHERE i.run_id = ANY($1::text[]) ORDER BY i.run_id, i.logged_at, d.name",
        run_ids,
    )
    grouped: dict[str, list[DatasetInput]] = {}
    for row in rows:
        dataset = Dataset(
            name=row["name"],
            digest=row["digest"],
            source_type=row["source_type"],
            source=row["source"],
            schema=row["schema"],
            profile=row["profile"],
        )
        grouped.setdefault(row["run_id"], []).append(
            DatasetInput(dataset=dataset, tags=_decode_tags(row["tags"]))
        )

    return grouped


async def _outputs(
    connection: Connection, run_ids: list[str]
) -> dict[str, list[ModelOutput]]:
    rows = await connection.fetch(
        "SELECT run_id, model_id, step FROM rm.run_outputs"
        " WHERE run_id = ANY($1::text[]) ORDER BY run_id, step, model_id",
        run_ids,
    )
    grouped: dict[str, list[ModelOutput]] = {}
    for run_id, model_id, step in rows:
        grouped.setdefault(run_id, []).append(ModelOutput(model_id=model_id, step=step))

    return grouped
