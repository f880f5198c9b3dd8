"""A batch of read-model changes, merged in memory and written in sets.

Folding a batch of events first merges them per row (a tag set then deleted
in the same batch is just deleted; a run created and renamed is inserted
with its new name), then writes each table with one statement.  The merge
must give the same rows as applying the events one by one; the replay test
holds it to that.
"""

import math
from typing import Any

import msgspec

from tracker.db import Connection
from tracker.eventlog.events import Metric

_DELETED = None
_encode_json = msgspec.json.Encoder().encode


def metric_order(metric: Metric) -> tuple[int, int, int, float]:
    """MLflow's "latest" metric order, matching PostgreSQL's (NaN is greatest)."""
    if math.isnan(metric.value):
        return (metric.step, metric.timestamp, 1, 0.0)
    return (metric.step, metric.timestamp, 0, metric.value)


class Changes:
    """Merged changes of one stretch of events, not yet written."""

    def __init__(self) -> None:
        self.new_experiments: dict[int, dict[str, Any]] = {}
        self.experiment_updates: dict[int, dict[str, Any]] = {}
        self.experiment_tags: dict[tuple[int, str], str | None] = {}
        self.new_runs: dict[str, dict[str, Any]] = {}
        self.run_updates: dict[str, dict[str, Any]] = {}
        self.params: dict[tuple[str, str], str] = {}
        self.tags: dict[tuple[str, str], str | None] = {}
        self.metrics: list[tuple[str, Metric]] = []
        self.latest_metrics: dict[tuple[str, str], Metric] = {}
        self.datasets: dict[tuple[int, str, str], tuple[Any, ...]] = {}
        self.run_inputs: dict[tuple[str, str, str], tuple[Any, ...]] = {}

    def update_experiment(self, experiment_id: int, **fields: Any) -> None:
        target = self.new_experiments.get(experiment_id)
        if target is None:
            target = self.experiment_updates.setdefault(experiment_id, {})
        target.update(fields)

    def update_run(self, run_id: str, **fields: Any) -> None:
        target = self.new_runs.get(run_id)
        if target is None:
            target = self.run_updates.setdefault(run_id, {})
        target.update(fields)

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self.tags[(run_id, key)] = value

    def delete_run_tag(self, run_id: str, key: str) -> None:
        self.tags[(run_id, key)] = _DELETED

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.metrics.append((run_id, metric))
        latest = self.latest_metrics.get((run_id, metric.key))
        if latest is None or metric_order(metric) > metric_order(latest):
            self.latest_metrics[(run_id, metric.key)] = metric

    def __bool__(self) -> bool:
        return any(
            (
                self.new_experiments,
                self.experiment_updates,
                self.experiment_tags,
                self.new_runs,
                self.run_updates,
                self.params,
                self.tags,
                self.metrics,
                self.datasets,
                self.run_inputs,
            )
        )

    async def write(self, connection: Connection) -> None:
        """Write every table touched, one statement per table and kind."""
        await self._write_experiments(connection)
        await self._write_runs(connection)
        await self._write_run_data(connection)
        await self._write_inputs(connection)

    async def _write_experiments(self, connection: Connection) -> None:
        if self.new_experiments:
            rows = list(self.new_experiments.values())
            await connection.execute(
                "INSERT INTO rm.experiments SELECT * FROM unnest($1::int8[],"
                " $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[])",
                *_columns(
                    rows,
                    "experiment_id",
                    "name",
                    "artifact_location",
                    "lifecycle_stage",
                    "creation_time",
                    "last_update_time",
                ),
            )
        if self.experiment_updates:
            rows = [
                {"experiment_id": key, **fields}
                for key, fields in self.experiment_updates.items()
            ]
            await connection.execute(
                "UPDATE rm.experiments e SET"
                " name = coalesce(u.name, e.name),"
                " lifecycle_stage = coalesce(u.stage, e.lifecycle_stage),"
                " last_update_time = coalesce(u.updated, e.last_update_time)"
                " FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[])"
                " AS u(experiment_id, name, stage, updated)"
                " WHERE e.experiment_id = u.experiment_id",
                *_columns(
                    rows, "experiment_id", "name", "lifecycle_stage", "last_update_time"
                ),
            )
        await _write_keyed_values(
            connection,
            "rm.experiment_tags",
            "experiment_id",
            "int8",
            self.experiment_tags,
        )

    async def _write_runs(self, connection: Connection) -> None:
        if self.new_runs:
            rows = list(self.new_runs.values())
            await connection.execute(
                "INSERT INTO rm.runs SELECT * FROM unnest("
                "$1::text[], $2::int8[], $3::text[], $4::text[], $5::text[],"
                " $6::int8[], $7::int8[], $8::text[], $9::text[])",
                *_columns(
                    rows,
                    "run_id",
                    "experiment_id",
                    "run_name",
                    "user_id",
                    "status",
                    "start_time",
                    "end_time",
                    "artifact_uri",
                    "lifecycle_stage",
                ),
            )
        if self.run_updates:
            rows = [
                {"run_id": key, **fields} for key, fields in self.run_updates.items()
            ]
            await connection.execute(
                "UPDATE rm.runs r SET"
                " status = coalesce(u.status, r.status),"
                " end_time = coalesce(u.end_time, r.end_time),"
                " run_name = coalesce(u.run_name, r.run_name),"
                " lifecycle_stage = coalesce(u.stage, r.lifecycle_stage)"
                " FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[],"
                " $5::text[]) AS u(run_id, status, end_time, run_name, stage)"
                " WHERE r.run_id = u.run_id",
                *_columns(
                    rows, "run_id", "status", "end_time", "run_name", "lifecycle_stage"
                ),
            )

    async def _write_run_data(self, connection: Connection) -> None:
        if self.params:
            await connection.execute(
                "INSERT INTO rm.params SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
                [run_id for run_id, _ in self.params],
                [key for _, key in self.params],
                list(self.params.values()),
            )
        await _write_keyed_values(connection, "rm.tags", "run_id", "text", self.tags)

        if self.metrics:
            await connection.execute(
                "INSERT INTO rm.metrics SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::int8[], $4::int8[], $5::float8[])"
                " ON CONFLICT DO NOTHING",
                [run_id for run_id, _ in self.metrics],
                [metric.key for _, metric in self.metrics],
                [metric.timestamp for _, metric in self.metrics],
                [metric.step for _, metric in self.metrics],
                [metric.value for _, metric in self.metrics],
            )
        if self.latest_metrics:
            latest = list(self.latest_metrics.items())
            await connection.execute(
                "INSERT INTO rm.latest_metrics AS l SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::float8[], $4::int8[], $5::int8[])"
                " ON CONFLICT (run_id, key) DO UPDATE SET"
                " value = excluded.value, timestamp = excluded.timestamp,"
                " step = excluded.step"
                " WHERE (excluded.step, excluded.timestamp, excluded.value)"
                " > (l.step, l.timestamp, l.value)",
                [run_id for (run_id, _), _ in latest],
                [key for (_, key), _ in latest],
                [metric.value for _, metric in latest],
                [metric.timestamp for _, metric in latest],
                [metric.step for _, metric in latest],
            )

    async def _write_inputs(self, connection: Connection) -> None:
        if self.datasets:
            rows = list(self.datasets.values())
            await connection.execute(
                "INSERT INTO rm.datasets SELECT * FROM unnest("
                "$1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],"
                " $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
                *_transpose(rows),
            )
        if self.run_inputs:
            rows = list(self.run_inputs.values())
            await connection.execute(
                "INSERT INTO rm.run_inputs SELECT r, n, d, e, c, t::jsonb, l"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[],"
                " $5::text[], $6::text[], $7::int8[]) AS u(r, n, d, e, c, t, l)"
                " ON CONFLICT DO NOTHING",
                *_transpose(rows),
            )

    def add_input(
        self,
        run_id: str,
        experiment_id: int,
        dataset: Any,
        tags: list[dict[str, str]],
        logged_at: int,
    ) -> None:
        key = (experiment_id, dataset.name, dataset.digest)
        self.datasets.setdefault(
            key,
            (
                experiment_id,
                dataset.name,
                dataset.digest,
                dataset.source_type,
                dataset.source,
                dataset.schema,
                dataset.profile,
            ),
        )
        context = next(
            (tag["value"] for tag in tags if tag["key"] == "mlflow.data.context"), None
        )
        self.run_inputs.setdefault(
            (run_id, dataset.name, dataset.digest),
            (
                run_id,
                dataset.name,
                dataset.digest,
                experiment_id,
                context,
                _encode_json(tags).decode(),
                logged_at,
            ),
        )


def _transpose(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def _columns(rows: list[dict[str, Any]], *names: str) -> list[list[Any]]:
    return [[row.get(name) for row in rows] for name in names]


async def _write_keyed_values(
    connection: Connection,
    table: str,
    owner_column: str,
    owner_type: str,
    values: dict[tuple[Any, str], str | None],
) -> None:
    """Upsert the set keys and delete the deleted ones of a key-value table."""
    kept = [
        (owner, key, value)
        for (owner, key), value in values.items()
        if value is not None
    ]
    gone = [(owner, key) for (owner, key), value in values.items() if value is None]

    if kept:
        await connection.execute(
            f"INSERT INTO {table} SELECT * FROM unnest("
            f"$1::{owner_type}[], $2::text[], $3::text[])"
            f" ON CONFLICT ({owner_column}, key) DO UPDATE SET value = excluded.value",
            *_transpose(kept),
        )
    if gone:
        await connection.execute(
            f"DELETE FROM {table} t USING unnest($1::{owner_type}[], $2::text[])"
            f" AS g(owner, key) WHERE t.{owner_column} = g.owner AND t.key = g.key",
            *_transpose(gone),
        )
