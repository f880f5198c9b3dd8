"""How each tracking event changes the read models.

Most events merge into a ``Changes`` set.  Deleting or restoring an
experiment changes every run in it, including runs this batch never
mentions, so those events first write what has been merged so far and then
update the runs with one statement.
"""

import json
from collections.abc import Iterable
from typing import Any

from projections.tracking.changes import Changes
from tracker.db import Connection
from tracker.eventlog.events import (
    ArtifactDeleted,
    ArtifactStored,
    Event,
    ExperimentCreated,
    ExperimentDeleted,
    ExperimentRenamed,
    ExperimentRestored,
    ExperimentTagDeleted,
    ExperimentTagSet,
    LoggedModelCreated,
    LoggedModelDeleted,
    LoggedModelFinalized,
    LoggedModelParamsLogged,
    LoggedModelTagDeleted,
    LoggedModelTagsSet,
    MetricsLogged,
    ParamsLogged,
    RunCreated,
    RunDeleted,
    RunInputsLogged,
    RunModelLogged,
    RunOutputsLogged,
    RunRestored,
    RunTagDeleted,
    RunTagsSet,
    RunUpdated,
)

RUN_NAME_TAG = "mlflow.runName"
MODEL_HISTORY_TAG = "mlflow.log-model.history"


async def fold(connection: Connection, events: Iterable[Event]) -> None:
    """Apply ``events``, in log order, to the read models."""
    changes = Changes()

    for event in events:
        match event:
            case ExperimentDeleted(experiment_id=eid, deleted_at=at):
                changes = await _cascade(connection, changes, eid, "deleted", at)
            case ExperimentRestored(experiment_id=eid, restored_at=at):
                changes = await _cascade(connection, changes, eid, "active", at)
            case RunModelLogged():
                changes = await _append_model_history(connection, changes, event)
            case _:
                _merge(changes, event)

    await changes.write(connection)


def _merge(changes: Changes, event: Event) -> None:
    match event:
        case ExperimentCreated():
            changes.new_experiments[event.experiment_id] = {
                "experiment_id": event.experiment_id,
                "name": event.name,
                "artifact_location": event.artifact_location,
                "lifecycle_stage": "active",
                "creation_time": event.created_at,
                "last_update_time": event.created_at,
            }
            for tag in event.tags:
                changes.experiment_tags[(event.experiment_id, tag.key)] = tag.value
        case ExperimentRenamed():
            changes.update_experiment(
                event.experiment_id, name=event.name, last_update_time=event.renamed_at
            )
        case ExperimentTagSet():
            changes.experiment_tags[(event.experiment_id, event.key)] = event.value
        case ExperimentTagDeleted():
            changes.experiment_tags[(event.experiment_id, event.key)] = None

        case RunCreated():
            changes.new_runs[event.run_id] = {
                "run_id": event.run_id,
                "experiment_id": event.experiment_id,
                "run_name": event.run_name,
                "user_id": event.user_id,
                "status": "RUNNING",
                "start_time": event.start_time,
                "end_time": None,
                "artifact_uri": event.artifact_uri,
                "lifecycle_stage": "active",
            }
            for tag in event.tags:
                changes.set_run_tag(event.run_id, tag.key, tag.value)
        case RunUpdated():
            fields = {
                name: value
                for name, value in (
                    ("status", event.status),
                    ("end_time", event.end_time),
                    ("run_name", event.run_name),
                )
                if value is not None
            }
            changes.update_run(event.run_id, **fields)
            if event.run_name:
                changes.set_run_tag(event.run_id, RUN_NAME_TAG, event.run_name)
        case RunDeleted():
            changes.update_run(event.run_id, lifecycle_stage="deleted")
        case RunRestored():
            changes.update_run(event.run_id, lifecycle_stage="active")

        case MetricsLogged():
            for metric in event.metrics:
                changes.log_metric(event.run_id, metric)
        case ParamsLogged():
            for param in event.params:
                changes.params.setdefault((event.run_id, param.key), param.value)
        case RunTagsSet():
            for tag in event.tags:
                changes.set_run_tag(event.run_id, tag.key, tag.value)
                if tag.key == RUN_NAME_TAG:
                    changes.update_run(event.run_id, run_name=tag.value)
        case RunTagDeleted():
            changes.delete_run_tag(event.run_id, event.key)
        case RunInputsLogged():
            for dataset_input in event.datasets:
                tags = [{"key": t.key, "value": t.value} for t in dataset_input.tags]
                changes.add_input(
                    event.run_id,
                    event.experiment_id,
                    dataset_input.dataset,
                    tags,
                    event.logged_at,
                )
        case _:
            _merge_artifacts_and_models(changes, event)


def _merge_artifacts_and_models(changes: Changes, event: Event) -> None:
    match event:
        case RunOutputsLogged():
            for output in event.models:
                changes.run_outputs[(event.run_id, output.model_id)] = output.step
        case ArtifactStored():
            changes.artifacts[(event.root, event.path)] = (
                event.root,
                event.path,
                event.size,
                event.etag,
                event.version_id,
                event.stored_at,
            )
        case ArtifactDeleted():
            changes.artifacts[(event.root, event.path)] = None

        case LoggedModelCreated():
            changes.new_models[event.model_id] = {
                "model_id": event.model_id,
                "experiment_id": event.experiment_id,
                "name": event.name,
                "artifact_location": event.artifact_location,
                "creation_time": event.created_at,
                "last_update_time": event.created_at,
                "status": "LOGGED_MODEL_PENDING",
                "model_type": event.model_type,
                "source_run_id": event.source_run_id,
                "lifecycle_stage": "active",
            }
            for param in event.params:
                changes.model_params[(event.model_id, param.key)] = param.value
            for tag in event.tags:
                changes.model_tags[(event.model_id, tag.key)] = tag.value
        case LoggedModelFinalized():
            changes.update_model(
                event.model_id, status=event.status, last_update_time=event.finalized_at
            )
        case LoggedModelTagsSet():
            for tag in event.tags:
                changes.model_tags[(event.model_id, tag.key)] = tag.value
            changes.update_model(event.model_id, last_update_time=event.set_at)
        case LoggedModelTagDeleted():
            changes.model_tags[(event.model_id, event.key)] = None
            changes.update_model(event.model_id, last_update_time=event.deleted_at)
        case LoggedModelParamsLogged():
            for param in event.params:
                changes.model_params[(event.model_id, param.key)] = param.value
            changes.update_model(event.model_id, last_update_time=event.logged_at)
        case LoggedModelDeleted():
            changes.update_model(
                event.model_id,
                lifecycle_stage="deleted",
                last_update_time=event.deleted_at,
            )


async def _append_model_history(
    connection: Connection, changes: Changes, event: RunModelLogged
) -> Changes:
    """Add a model to the run's history tag, which holds a JSON list."""
    await changes.write(connection)

    current = await connection.fetchval(
        "SELECT value FROM tags WHERE run_id = $1 AND key = $2",
        event.run_id,
        MODEL_HISTORY_TAG,
    )
    history = _json_list(current)
    history.append(_json_value(event.model_json))
    await connection.execute(
        "INSERT INTO tags VALUES ($1, $2, $3)"
        " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
        event.run_id,
        MODEL_HISTORY_TAG,
        json.dumps(history),
    )

    return Changes()


def _json_list(text: str | None) -> list[Any]:
    # A user may have overwritten the tag with anything; start afresh then.
    value = _json_value(text) if text else []
    return value if isinstance(value, list) else []


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _cascade(
    connection: Connection,
    changes: Changes,
    experiment_id: int,
    stage: str,
    at: int,
) -> Changes:
    changes.update_experiment(experiment_id, lifecycle_stage=stage, last_update_time=at)
    await changes.write(connection)

    await connection.execute(
        "UPDATE runs SET lifecycle_stage = $2 WHERE experiment_id = $1",
        experiment_id,
        stage,
    )

    return Changes()
