"""Logged-model reads."""

from projections.views import (
    KeyValue,
    LoggedModel,
    LoggedModelData,
    LoggedModelInfo,
    LoggedModelMetric,
    wire_double,
)
from tracker.db import Connection


async def logged_models_by_id(
    connection: Connection, model_ids: list[str], *, include_deleted: bool = False
) -> list[LoggedModel]:
    """Return the models with these ids, in the order given."""
    rows = await connection.fetch(
        "SELECT * FROM rm.logged_models WHERE model_id = ANY($1::text[])"
        " AND ($2 OR lifecycle_stage = 'active')",
        model_ids,
        include_deleted,
    )
    params = await _key_values(connection, "rm.logged_model_params", model_ids)
    tags = await _key_values(connection, "rm.logged_model_tags", model_ids)
    metrics = await _metrics(connection, model_ids)

    found = {
        row["model_id"]: LoggedModel(
            info=LoggedModelInfo(
                model_id=row["model_id"],
                experiment_id=str(row["experiment_id"]),
                name=row["name"],
                creation_timestamp_ms=row["creation_time"],
                last_updated_timestamp_ms=row["last_update_time"],
                artifact_uri=row["artifact_location"],
                status=row["status"],
                model_type=row["model_type"],
                source_run_id=row["source_run_id"],
                tags=tags.get(row["model_id"], []),
            ),
            data=LoggedModelData(
                params=params.get(row["model_id"], []),
                metrics=metrics.get(row["model_id"], []),
            ),
        )
        for row in rows
    }

    return [found[model_id] for model_id in model_ids if model_id in found]


async def _key_values(
    connection: Connection, table: str, model_ids: list[str]
) -> dict[str, list[KeyValue]]:
    rows = await connection.fetch(
        f"SELECT model_id, key, value FROM {table}"
        " WHERE model_id = ANY($1::text[]) ORDER BY model_id, key",
        model_ids,
    )
    grouped: dict[str, list[KeyValue]] = {}
    for model_id, key, value in rows:
        grouped.setdefault(model_id, []).append(KeyValue(key, value))

    return grouped


async def _metrics(
    connection: Connection, model_ids: list[str]
) -> dict[str, list[LoggedModelMetric]]:
    rows = await connection.fetch(
        "SELECT * FROM rm.logged_model_metrics WHERE model_id = ANY($1::text[])"
        " ORDER BY model_id, key, step, timestamp",
        model_ids,
    )
    grouped: dict[str, list[LoggedModelMetric]] = {}
    for row in rows:
        grouped.setdefault(row["model_id"], []).append(
            LoggedModelMetric(
                key=row["key"],
                value=wire_double(row["value"]),
                timestamp=row["timestamp"],
                step=row["step"],
                model_id=row["model_id"],
                run_id=row["run_id"],
                dataset_name=row["dataset_name"],
                dataset_digest=row["dataset_digest"],
            )
        )

    return grouped
