"""How each tracking event changes the read models.

Most events merge into a ``Changes`` set.  Deleting or restoring an
experiment changes every run in it, including runs this batch never
mentions, so those events first write what has been merged so far and then
update the runs with one statement.
"""

from collections.abc import Iterable

from projections.tracking.changes import Changes
from tracker.db import Connection
from tracker.eventlog.events import (
    Event,
    ExperimentCreated,
    ExperimentDeleted,
    ExperimentRenamed,
    ExperimentRestored,
    ExperimentTagDeleted,
    ExperimentTagSet,
    MetricsLogged,
    ParamsLogged,
    RunCreated,
    RunDeleted,
    RunInputsLogged,
    RunRestored,
    RunTagDeleted,
    RunTagsSet,
    RunUpdated,
)

RUN_NAME_TAG = "mlflow.runName"


async def fold(connection: Connection, events: Iterable[Event]) -> None:
    """Apply ``events``, in log order, to the read models."""
    changes = Changes()

    for event in events:
        match event:
            case ExperimentDeleted(experiment_id=eid, deleted_at=at):
                changes = await _cascade(connection, changes, eid, "deleted", at)
            case ExperimentRestored(experiment_id=eid, restored_at=at):
                changes = await _cascade(connection, changes, eid, "active", at)
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
        "UPDATE rm.runs SET lifecycle_stage = $2 WHERE experiment_id = $1",
        experiment_id,
        stage,
    )

    return Changes()
