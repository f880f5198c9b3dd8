"""Run commands: create and update runs, and log their data.

A run's decision row is locked FOR UPDATE by every write to the run, after
the experiment's row (see ``tracker.commands.experiments`` for the order).
Deleting an experiment updates its runs' rows, so a write waiting on a run
lock sees the deletion once it gets the lock.
"""

import uuid
from collections.abc import Sequence

import msgspec

from tracker.clock import now_ms
from tracker.commands import validation
from tracker.commands.experiments import ACTIVE, DELETED, share_active_experiment
from tracker.commands.run_names import random_run_name
from tracker.errors import InvalidParameter, NotFound
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import (
    DatasetInput,
    Event,
    Metric,
    MetricsLogged,
    Param,
    ParamsLogged,
    RunCreated,
    RunDeleted,
    RunInputsLogged,
    RunRestored,
    RunTagDeleted,
    RunTagsSet,
    RunUpdated,
    Tag,
)

RUN_NAME_TAG = "mlflow.runName"
RUN_STATUSES = frozenset({"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"})


class CreatedRun(msgspec.Struct, frozen=True):
    run_id: str
    experiment_id: int


def run_stream(run_id: str) -> str:
    return f"run-{run_id}"


async def create_run(
    tx: WriteTransaction,
    experiment_id: int,
    *,
    user_id: str,
    run_name: str | None,
    start_time: int | None,
    tags: Sequence[Tag],
) -> CreatedRun:
    tags = [validation.checked_run_tag(tag) for tag in tags]
    name_tag = next((t.value for t in reversed(tags) if t.key == RUN_NAME_TAG), None)
    if run_name and name_tag and run_name != name_tag:
        msg = (
            "Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
            f"with different values (run_name='{run_name}', "
            f"mlflow.runName='{name_tag}')."
        )
        raise InvalidParameter(msg)
    run_name = run_name or name_tag or random_run_name()
    if name_tag is None:
        tags.append(Tag(RUN_NAME_TAG, run_name))

    artifact_location = await share_active_experiment(tx, experiment_id)

    run_id = uuid.uuid4().hex
    artifact_uri = f"{artifact_location.rstrip('/')}/{run_id}/artifacts"
    await tx.connection.execute(
        "INSERT INTO decision.runs VALUES ($1, $2, $3, $4)",
        run_id,
        experiment_id,
        ACTIVE,
        artifact_uri,
    )
    await _remember_tag_keys(tx, run_id, tags)

    event = RunCreated(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=run_name,
        user_id=user_id,
        start_time=start_time,
        artifact_uri=artifact_uri,
        tags=tuple(tags),
    )
    await tx.append(run_stream(run_id), "run", [event], expected_version=0)

    return CreatedRun(run_id, experiment_id)


async def update_run(
    tx: WriteTransaction,
    run_id: str,
    *,
    status: str | None,
    end_time: int | None,
    run_name: str | None,
) -> None:
    if status is not None and status not in RUN_STATUSES:
        raise InvalidParameter(f"Invalid run status: '{status}'")
    await lock_active_run(tx, run_id)

    events: list[Event] = [
        RunUpdated(run_id=run_id, status=status, end_time=end_time, run_name=run_name)
    ]
    if run_name:
        # The name lives twice in MLflow, as a field and as a tag; both move.
        await _remember_tag_keys(tx, run_id, [Tag(RUN_NAME_TAG, run_name)])
    await tx.append(run_stream(run_id), "run", events)


async def delete_run(tx: WriteTransaction, run_id: str) -> None:
    await _set_lifecycle(tx, run_id, DELETED)
    event = RunDeleted(run_id=run_id, deleted_at=now_ms())
    await tx.append(run_stream(run_id), "run", [event])


async def restore_run(tx: WriteTransaction, run_id: str) -> None:
    await _set_lifecycle(tx, run_id, ACTIVE)
    event = RunRestored(run_id=run_id, restored_at=now_ms())
    await tx.append(run_stream(run_id), "run", [event])


async def log_batch(
    tx: WriteTransaction,
    run_id: str,
    *,
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[Tag] = (),
) -> None:
    """Log metrics, params and tags to a run, all of them or none."""
    validation.check_batch_sizes(len(metrics), len(params), len(tags))
    for metric in metrics:
        validation.check_metric(metric)
    params = [validation.checked_param(param) for param in params]
    tags = [validation.checked_run_tag(tag) for tag in tags]
    validation.check_unique_keys([param.key for param in params], "parameter")
    await lock_active_run(tx, run_id)

    new_params = await _new_params(tx, run_id, params)
    await _remember_tag_keys(tx, run_id, tags)

    events: list[Event] = []
    if metrics:
        events.append(MetricsLogged(run_id=run_id, metrics=tuple(metrics)))
    if new_params:
        events.append(ParamsLogged(run_id=run_id, params=tuple(new_params)))
    if tags:
        events.append(RunTagsSet(run_id=run_id, tags=tuple(tags)))
    if events:
        await tx.append(run_stream(run_id), "run", events)


async def delete_run_tag(tx: WriteTransaction, run_id: str, key: str) -> None:
    await lock_active_run(tx, run_id)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.run_tags WHERE run_id = $1 AND key = $2 RETURNING key",
        run_id,
        key,
    )
    if deleted is None:
        raise NotFound(f"No tag with name: {key} in run with id {run_id}")

    await tx.append(run_stream(run_id), "run", [RunTagDeleted(run_id=run_id, key=key)])


async def log_inputs(
    tx: WriteTransaction, run_id: str, datasets: Sequence[DatasetInput]
) -> None:
    for dataset_input in datasets:
        _check_dataset_input(dataset_input)
    experiment_id = await lock_active_run(tx, run_id)

    if datasets:
        event = RunInputsLogged(
            run_id=run_id,
            experiment_id=experiment_id,
            datasets=tuple(datasets),
            logged_at=now_ms(),
        )
        await tx.append(run_stream(run_id), "run", [event])


async def lock_active_run(tx: WriteTransaction, run_id: str) -> int:
    """Lock the run's decision row; return its experiment id."""
    row = await tx.connection.fetchrow(
        "SELECT lifecycle_stage, experiment_id FROM decision.runs"
        " WHERE run_id = $1 FOR UPDATE",
        run_id,
    )
    if row is None:
        raise NotFound(f"Run with id={run_id} not found")
    if row["lifecycle_stage"] != ACTIVE:
        msg = (
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {row['lifecycle_stage']}."
        )
        raise InvalidParameter(msg)

    experiment_id: int = row["experiment_id"]

    return experiment_id


async def _set_lifecycle(tx: WriteTransaction, run_id: str, stage: str) -> None:
    found = await tx.connection.fetchval(
        "UPDATE decision.runs SET lifecycle_stage = $2 WHERE run_id = $1"
        " RETURNING run_id",
        run_id,
        stage,
    )
    if found is None:
        raise NotFound(f"Run with id={run_id} not found")


async def _new_params(
    tx: WriteTransaction, run_id: str, params: Sequence[Param]
) -> list[Param]:
    """Return the params not yet logged; refuse a changed value."""
    if not params:
        return []

    rows = await tx.connection.fetch(
        "SELECT key, value FROM decision.params"
        " WHERE run_id = $1 AND key = ANY($2::text[])",
        run_id,
        [param.key for param in params],
    )
    logged: dict[str, str] = {row["key"]: row["value"] for row in rows}
    for param in params:
        if param.key in logged and logged[param.key] != param.value:
            msg = (
                "Changing param values is not allowed. Param with "
                f"key='{param.key}' was already logged with "
                f"value='{logged[param.key]}' for run ID='{run_id}'. "
                f"Attempted logging new value '{param.value}'."
            )
            raise InvalidParameter(msg)

    new = [param for param in params if param.key not in logged]
    if new:
        await tx.connection.execute(
            "INSERT INTO decision.params SELECT $1, key, value"
            " FROM unnest($2::text[], $3::text[]) AS p(key, value)",
            run_id,
            [param.key for param in new],
            [param.value for param in new],
        )

    return new


async def _remember_tag_keys(
    tx: WriteTransaction, run_id: str, tags: Sequence[Tag]
) -> None:
    if tags:
        await tx.connection.execute(
            "INSERT INTO decision.run_tags"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            run_id,
            [tag.key for tag in tags],
        )


def _check_dataset_input(dataset_input: DatasetInput) -> None:
    dataset = dataset_input.dataset
    limits = (
        (dataset.name, "name", validation.MAX_DATASET_NAME_LENGTH),
        (dataset.digest, "digest", validation.MAX_DATASET_DIGEST_LENGTH),
        (dataset.source, "source", validation.MAX_DATASET_SOURCE_LENGTH),
        (dataset.schema or "", "schema", validation.MAX_DATASET_SCHEMA_LENGTH),
        (dataset.profile or "", "profile", validation.MAX_DATASET_PROFILE_LENGTH),
    )
    for value, field, limit in limits:
        validation.check_length(value, f"dataset.{field}", limit)
    for tag in dataset_input.tags:
        validation.check_length(
            tag.key, "input tag key", validation.MAX_INPUT_TAG_KEY_LENGTH
        )
        validation.check_length(
            tag.value, "input tag value", validation.MAX_INPUT_TAG_VALUE_LENGTH
        )
