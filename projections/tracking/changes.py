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

from projections.tracking.metric_series import write_metrics
from projections.tracking.sets import columns, transpose, write_keyed_values
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
        self.run_outputs: dict[tuple[str, str], int] = {}
        self.artifacts: dict[tuple[str, str], tuple[Any, ...] | None] = {}
        self.new_models: dict[str, dict[str, Any]] = {}
        self.model_updates: dict[str, dict[str, Any]] = {}
        self.model_params: dict[tuple[str, str], str] = {}
        self.model_tags: dict[tuple[str, str], str | None] = {}
        self.model_metrics: dict[tuple[str, str, str, int, int], tuple[Any, ...]] = {}

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

    def update_model(self, model_id: str, **fields: Any) -> None:
        target = self.new_models.get(model_id)
        if target is None:
            target = self.model_updates.setdefault(model_id, {})
        target.update(fields)

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        self.tags[(run_id, key)] = value

    def delete_run_tag(self, run_id: str, key: str) -> None:
        self.tags[(run_id, key)] = _DELETED

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.metrics.append((run_id, metric))
        if metric.model_id is not None:
            self.model_metrics[
                (metric.model_id, run_id, metric.key, metric.step, metric.timestamp)
            ] = (
                metric.model_id,
                run_id,
                metric.key,
                metric.value,
                metric.timestamp,
                metric.step,
                metric.dataset_name,
                metric.dataset_digest,
            )
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
                self.run_outputs,
                self.artifacts,
                self.new_models,
                self.model_updates,
                self.model_params,
                self.model_tags,
                self.model_metrics,
            )
        )

    async def write(self, connection: Connection) -> None:
        """Write every table touched, one statement per table and kind."""
        await self._write_experiments(connection)
        await self._write_runs(connection)
        await self._write_run_data(connection)
        await self._write_inputs(connection)
        await self._write_artifacts(connection)
        await self._write_models(connection)

    async def _write_experiments(self, connection: Connection) -> None:
        if self.new_experiments:
            rows = list(self.new_experiments.values())
            await connection.execute(
                "INSERT INTO experiments SELECT * FROM unnest($1::int8[],"
                " $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[])",
                *columns(
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
                "UPDATE experiments e SET"
                " name = coalesce(u.name, e.name),"
                " lifecycle_stage = coalesce(u.stage, e.lifecycle_stage),"
                " last_update_time = coalesce(u.updated, e.last_update_time)"
                " FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[])"
                " AS u(experiment_id, name, stage, updated)"
                " WHERE e.experiment_id = u.experiment_id",
                *columns(
                    rows, "experiment_id", "name", "lifecycle_stage", "last_update_time"
                ),
            )
        await write_keyed_values(
            connection,
            "experiment_tags",
            "experiment_id",
            "int8",
            self.experiment_tags,
        )

    async def _write_runs(self, connection: Connection) -> None:
        if self.new_runs:
            rows = list(self.new_runs.values())
            await connection.execute(
                "INSERT INTO runs SELECT * FROM unnest("
                "$1::text[], $2::int8[], $3::text[], $4::text[], $5::text[],"
                " $6::int8[], $7::int8[], $8::text[], $9::text[])",
                *columns(
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
                "UPDATE runs r SET"
                " status = coalesce(u.status, r.status),"
                " end_time = coalesce(u.end_time, r.end_time),"
                " run_name = coalesce(u.run_name, r.run_name),"
                " lifecycle_stage = coalesce(u.stage, r.lifecycle_stage)"
                " FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[],"
                " $5::text[]) AS u(run_id, status, end_time, run_name, stage)"
                " WHERE r.run_id = u.run_id",
                *columns(
                    rows, "run_id", "status", "end_time", "run_name", "lifecycle_stage"
                ),
            )

    async def _write_run_data(self, connection: Connection) -> None:
        if self.params:
            await connection.execute(
                "INSERT INTO params SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
                [run_id for run_id, _ in self.params],
                [key for _, key in self.params],
                list(self.params.values()),
            )
        await write_keyed_values(connection, "tags", "run_id", "text", self.tags)

        await write_metrics(connection, self.metrics, self.latest_metrics)

    async def _write_inputs(self, connection: Connection) -> None:
        if self.datasets:
            rows = list(self.datasets.values())
            await connection.execute(
                "INSERT INTO datasets SELECT * FROM unnest("
                "$1::int8[], $2::text[], $3::text[], $4::text[], $5::text[],"
                " $6::text[], $7::text[]) ON CONFLICT DO NOTHING",
                *transpose(rows),
            )
        if self.run_inputs:
            rows = list(self.run_inputs.values())
            await connection.execute(
                "INSERT INTO run_inputs SELECT r, n, d, e, c, t::jsonb, l"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[],"
                " $5::text[], $6::text[], $7::int8[]) AS u(r, n, d, e, c, t, l)"
                " ON CONFLICT DO NOTHING",
                *transpose(rows),
            )

    async def _write_artifacts(self, connection: Connection) -> None:
        if self.run_outputs:
            await connection.execute(
                "INSERT INTO run_outputs SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::int8[])"
                " ON CONFLICT (run_id, model_id) DO UPDATE SET step = excluded.step",
                [run_id for run_id, _ in self.run_outputs],
                [model_id for _, model_id in self.run_outputs],
                list(self.run_outputs.values()),
            )

        stored = [row for row in self.artifacts.values() if row is not None]
        gone = [key for key, row in self.artifacts.items() if row is None]
        if stored:
            await connection.execute(
                "INSERT INTO artifacts SELECT * FROM unnest($1::text[], $2::text[],"
                " $3::int8[], $4::text[], $5::text[], $6::int8[])"
                " ON CONFLICT (root, path) DO UPDATE SET size = excluded.size,"
                " etag = excluded.etag, version_id = excluded.version_id,"
                " stored_at = excluded.stored_at",
                *transpose(stored),
            )
        if gone:
            await connection.execute(
                "DELETE FROM artifacts a USING unnest($1::text[], $2::text[])"
                " AS g(root, path) WHERE a.root = g.root AND a.path = g.path",
                *transpose(gone),
            )

    async def _write_models(self, connection: Connection) -> None:
        if self.new_models:
            await connection.execute(
                "INSERT INTO logged_models SELECT * FROM unnest($1::text[],"
                " $2::int8[], $3::text[], $4::text[], $5::int8[], $6::int8[],"
                " $7::text[], $8::text[], $9::text[], $10::text[])",
                *columns(
                    list(self.new_models.values()),
                    "model_id",
                    "experiment_id",
                    "name",
                    "artifact_location",
                    "creation_time",
                    "last_update_time",
                    "status",
                    "model_type",
                    "source_run_id",
                    "lifecycle_stage",
                ),
            )
        if self.model_updates:
            rows = [
                {"model_id": key, **fields}
                for key, fields in self.model_updates.items()
            ]
            await connection.execute(
                "UPDATE logged_models m SET"
                " status = coalesce(u.status, m.status),"
                " lifecycle_stage = coalesce(u.stage, m.lifecycle_stage),"
                " last_update_time = coalesce(u.updated, m.last_update_time)"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])"
                " AS u(model_id, status, stage, updated) WHERE m.model_id = u.model_id",
                *columns(
                    rows, "model_id", "status", "lifecycle_stage", "last_update_time"
                ),
            )
        if self.model_params:
            await connection.execute(
                "INSERT INTO logged_model_params SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::text[])"
                " ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
                [model_id for model_id, _ in self.model_params],
                [key for _, key in self.model_params],
                list(self.model_params.values()),
            )
        await write_keyed_values(
            connection, "logged_model_tags", "model_id", "text", self.model_tags
        )
        if self.model_metrics:
            await connection.execute(
                "INSERT INTO logged_model_metrics SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::text[], $4::float8[], $5::int8[],"
                " $6::int8[], $7::text[], $8::text[])"
                " ON CONFLICT (model_id, run_id, key, step, timestamp)"
                " DO UPDATE SET value = excluded.value",
                *transpose(list(self.model_metrics.values())),
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
