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


# A page of runs with their params, tags and latest metrics, in one round
# trip: each run's key-value rows come back as parallel arrays, in key order.
_RUNS_WITH_DATA = """
SELECT r.*, p.keys AS param_keys, p.vals AS param_values,
       t.keys AS tag_keys, t.vals AS tag_values,
       m.keys AS metric_keys, m.vals AS metric_values,
       m.timestamps AS metric_timestamps, m.steps AS metric_steps,
       EXISTS (SELECT 1 FROM rm.run_inputs i WHERE i.run_id = r.run_id)
           AS has_inputs,
       EXISTS (SELECT 1 FROM rm.run_outputs o WHERE o.run_id = r.run_id)
           AS has_outputs
FROM rm.runs r
CROSS JOIN LATERAL (
    SELECT array_agg(key ORDER BY key) AS keys, array_agg(value ORDER BY key) AS vals
    FROM rm.params WHERE run_id = r.run_id
) p
CROSS JOIN LATERAL (
    SELECT array_agg(key ORDER BY key) AS keys, array_agg(value ORDER BY key) AS vals
    FROM rm.tags WHERE run_id = r.run_id
) t
CROSS JOIN LATERAL (
    SELECT array_agg(key ORDER BY key) AS keys,
           array_agg(value ORDER BY key) AS vals,
           array_agg(timestamp ORDER BY key) AS timestamps,
           array_agg(step ORDER BY key) AS steps
    FROM rm.latest_metrics WHERE run_id = r.run_id
) m
WHERE r.run_id = ANY($1::text[])
"""


async def runs_by_id(connection: Connection, run_ids: list[str]) -> list[Run]:
    """Return the runs with these ids, in the order given.

    One statement whatever the number of runs, and one more each for inputs
    and outputs when some run of the page has any.
    """
    rows = await connection.fetch(_RUNS_WITH_DATA, run_ids)
    with_inputs = [row["run_id"] for row in rows if row["has_inputs"]]
    with_outputs = [row["run_id"] for row in rows if row["has_outputs"]]
    inputs = await _inputs(connection, with_inputs) if with_inputs else {}
    outputs = await _outputs(connection, with_outputs) if with_outputs else {}

    found = {
        row["run_id"]: Run(
            info=_info(row),
            data=RunData(
                metrics=_metrics(row),
                params=_key_values(row["param_keys"], row["param_values"]),
                tags=_key_values(row["tag_keys"], row["tag_values"]),
            ),
            inputs=RunInputs(dataset_inputs=inputs.get(row["run_id"], [])),
            outputs=RunOutputs(model_outputs=outputs.get(row["run_id"], [])),
        )
        for row in rows
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


def _key_values(keys: list[str] | None, values: list[str] | None) -> list[KeyValue]:
    if keys is None or values is None:
        return []
    return [KeyValue(key, value) for key, value in zip(keys, values, strict=True)]


def _metrics(row: asyncpg.Record) -> list[Metric]:
    keys = row["metric_keys"]
    if keys is None:
        return []
    return [
        Metric(key=key, value=wire_double(value), timestamp=timestamp, step=step)
        for key, value, timestamp, step in zip(
            keys,
            row["metric_values"],
            row["metric_timestamps"],
            row["metric_steps"],
            strict=True,
        )
    ]


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
