"""Experiment commands.

Lock order, shared by every command: the experiment's decision row, then its
runs' rows, then es.head (taken inside es.append).  Keeping one order is what
makes concurrent commands deadlock-free.
"""

import asyncpg

from tracker.clock import now_ms
from tracker.commands import validation
from tracker.errors import AlreadyExists, InvalidParameter, InvalidState, NotFound
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import (
    ExperimentCreated,
    ExperimentDeleted,
    ExperimentRenamed,
    ExperimentRestored,
    ExperimentTagDeleted,
    ExperimentTagSet,
    Tag,
)

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
ACTIVE = "active"
DELETED = "deleted"


EXPERIMENT_STREAM_PREFIX = "experiment-"


def experiment_stream(experiment_id: int) -> str:
    return f"{EXPERIMENT_STREAM_PREFIX}{experiment_id}"


def parse_experiment_id(raw: str | int | None) -> int:
    """Turn MLflow's string experiment id into our integer key."""
    if raw is None or raw == "":
        raise InvalidParameter("Missing value for required parameter 'experiment_id'.")
    try:
        experiment_id = int(raw)
    except (TypeError, ValueError):
        msg = f"Invalid experiment ID: '{raw}'"
        raise InvalidParameter(msg) from None
    if not 0 <= experiment_id < 2**63:
        raise InvalidParameter(f"Invalid experiment ID: '{raw}'")
    return experiment_id


def default_artifact_location(experiment_id: int) -> str:
    return f"mlflow-artifacts:/{experiment_id}"


async def create_experiment(
    tx: WriteTransaction,
    name: str | None,
    artifact_location: str | None = None,
    tags: list[Tag] | None = None,
    *,
    experiment_id: int | None = None,
) -> int:
    """Create an experiment and return its id.

    ``experiment_id`` is given only for the Default experiment (0); every
    other id comes from the never-reset es.experiment_ids sequence.
    """
    name = validation.check_experiment_name(name)
    tags = tags or []
    for tag in tags:
        validation.check_experiment_tag(tag)

    if experiment_id is None:
        experiment_id = await tx.connection.fetchval(
            "SELECT nextval('es.experiment_ids')"
        )
    location = artifact_location or default_artifact_location(experiment_id)

    try:
        await tx.connection.execute(
            "INSERT INTO decision.experiments VALUES ($1, $2, $3, $4)",
            experiment_id,
            name,
            ACTIVE,
            location,
        )
    except asyncpg.UniqueViolationError:
        raise AlreadyExists(f"Experiment '{name}' already exists.") from None
    await _remember_tag_keys(tx, experiment_id, [tag.key for tag in tags])

    event = ExperimentCreated(
        experiment_id=experiment_id,
        name=name,
        artifact_location=location,
        created_at=now_ms(),
        tags=tuple(tags),
    )
    await tx.append(
        experiment_stream(experiment_id), "experiment", [event], expected_version=0
    )

    return experiment_id


async def rename_experiment(
    tx: WriteTransaction, experiment_id: int, new_name: str | None
) -> None:
    if new_name is None:
        raise InvalidParameter("Missing value for required parameter 'new_name'.")
    new_name = validation.check_experiment_name(new_name)
    stage = await _lock_experiment(tx, experiment_id)
    if stage != ACTIVE:
        raise InvalidState("Cannot rename a non-active experiment.")

    try:
        await tx.connection.execute(
            "UPDATE decision.experiments SET name = $2 WHERE experiment_id = $1",
            experiment_id,
            new_name,
        )
    except asyncpg.UniqueViolationError:
        raise AlreadyExists(f"Experiment '{new_name}' already exists.") from None

    event = ExperimentRenamed(
        experiment_id=experiment_id, name=new_name, renamed_at=now_ms()
    )
    await tx.append(experiment_stream(experiment_id), "experiment", [event])


async def delete_experiment(tx: WriteTransaction, experiment_id: int) -> None:
    """Soft-delete the experiment and every run in it."""
    stage = await _lock_experiment(tx, experiment_id)
    if stage != ACTIVE:
        raise _missing(experiment_id)

    await _set_lifecycle(tx, experiment_id, DELETED)
    event = ExperimentDeleted(experiment_id=experiment_id, deleted_at=now_ms())
    await tx.append(experiment_stream(experiment_id), "experiment", [event])


async def restore_experiment(tx: WriteTransaction, experiment_id: int) -> None:
    """Make a deleted experiment and every run in it active again."""
    stage = await _lock_experiment(tx, experiment_id)
    if stage != DELETED:
        raise _missing(experiment_id)

    await _set_lifecycle(tx, experiment_id, ACTIVE)
    event = ExperimentRestored(experiment_id=experiment_id, restored_at=now_ms())
    await tx.append(experiment_stream(experiment_id), "experiment", [event])


async def set_experiment_tag(
    tx: WriteTransaction, experiment_id: int, tag: Tag
) -> None:
    validation.check_experiment_tag(tag)
    await _lock_active_experiment(tx, experiment_id)

    await _remember_tag_keys(tx, experiment_id, [tag.key])
    event = ExperimentTagSet(experiment_id=experiment_id, key=tag.key, value=tag.value)
    await tx.append(experiment_stream(experiment_id), "experiment", [event])


async def delete_experiment_tag(
    tx: WriteTransaction, experiment_id: int, key: str
) -> None:
    await _lock_active_experiment(tx, experiment_id)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.experiment_tags WHERE experiment_id = $1 AND key = $2"
        " RETURNING key",
        experiment_id,
        key,
    )
    if deleted is None:
        msg = f"No tag with name: {key} in experiment with id {experiment_id}"
        raise NotFound(msg)

    event = ExperimentTagDeleted(experiment_id=experiment_id, key=key)
    await tx.append(experiment_stream(experiment_id), "experiment", [event])


async def _lock_experiment(tx: WriteTransaction, experiment_id: int) -> str:
    stage: str | None = await tx.connection.fetchval(
        "SELECT lifecycle_stage FROM decision.experiments"
        " WHERE experiment_id = $1 FOR UPDATE",
        experiment_id,
    )
    if stage is None:
        raise _missing(experiment_id)
    return stage


async def _lock_active_experiment(tx: WriteTransaction, experiment_id: int) -> None:
    stage = await _lock_experiment(tx, experiment_id)
    if stage != ACTIVE:
        raise _not_active(experiment_id, stage)


async def share_active_experiment(tx: WriteTransaction, experiment_id: int) -> str:
    """Hold an active experiment for the transaction; return its artifact root.

    A shared lock: runs and models are created in it side by side, while a
    delete, which locks it for update, waits for them, and they for it.
    """
    experiment = await tx.connection.fetchrow(
        "SELECT lifecycle_stage, artifact_location FROM decision.experiments"
        " WHERE experiment_id = $1 FOR SHARE",
        experiment_id,
    )
    if experiment is None:
        raise _missing(experiment_id)
    if experiment["lifecycle_stage"] != ACTIVE:
        raise _not_active(experiment_id, experiment["lifecycle_stage"])

    location: str = experiment["artifact_location"]

    return location


def _not_active(experiment_id: int, stage: str) -> InvalidParameter:
    return InvalidParameter(
        f"The experiment {experiment_id} must be in the 'active' state. "
        f"Current state is {stage}."
    )


async def _set_lifecycle(tx: WriteTransaction, experiment_id: int, stage: str) -> None:
    await tx.connection.execute(
        "UPDATE decision.experiments SET lifecycle_stage = $2 WHERE experiment_id = $1",
        experiment_id,
        stage,
    )
    await tx.connection.execute(
        "UPDATE decision.runs SET lifecycle_stage = $2 WHERE experiment_id = $1",
        experiment_id,
        stage,
    )


async def _remember_tag_keys(
    tx: WriteTransaction, experiment_id: int, keys: list[str]
) -> None:
    if keys:
        await tx.connection.execute(
            "INSERT INTO decision.experiment_tags"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            experiment_id,
            keys,
        )


def _missing(experiment_id: int) -> NotFound:
    return NotFound(f"No Experiment with id={experiment_id} exists")
