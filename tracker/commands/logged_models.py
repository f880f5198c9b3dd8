"""MLflow 3 logged-model commands, and the runs' links to them.

A logged model's decision row is locked FOR UPDATE by every write to it,
after its experiment's row, as with runs.
"""

import uuid
from collections.abc import Sequence

from tracker.clock import now_ms
from tracker.commands import validation
from tracker.commands.experiments import ACTIVE, DELETED, share_active_experiment
from tracker.commands.run_names import random_run_name
from tracker.commands.runs import lock_active_run, run_stream
from tracker.errors import InvalidParameter, NotFound
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import (
    LoggedModelCreated,
    LoggedModelDeleted,
    LoggedModelFinalized,
    LoggedModelParamsLogged,
    LoggedModelTagDeleted,
    LoggedModelTagsSet,
    ModelOutput,
    Param,
    RunModelLogged,
    RunOutputsLogged,
    Tag,
)

MODEL_STATUSES = {
    0: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}
MODEL_HISTORY_TAG = "mlflow.log-model.history"


def model_stream(model_id: str) -> str:
    return f"model-{model_id}"


async def create_logged_model(
    tx: WriteTransaction,
    experiment_id: int,
    *,
    name: str | None,
    model_type: str | None,
    source_run_id: str | None,
    params: Sequence[Param],
    tags: Sequence[Tag],
) -> str:
    if name is not None:
        validation.check_length(name, "name", validation.MAX_ENTITY_KEY_LENGTH)
        if "/" in name or ":" in name:
            raise InvalidParameter(f"Invalid model name: '{name}'")
    artifact_location = await share_active_experiment(tx, experiment_id)

    model_id = f"m-{uuid.uuid4().hex}"
    root = artifact_location.rstrip("/")
    location = f"{root}/models/{model_id}/artifacts"
    await tx.connection.execute(
        "INSERT INTO decision.logged_models VALUES ($1, $2, $3, $4)",
        model_id,
        experiment_id,
        ACTIVE,
        location,
    )
    await _remember_tag_keys(tx, model_id, tags)

    event = LoggedModelCreated(
        model_id=model_id,
        experiment_id=experiment_id,
        name=name or random_run_name(),
        artifact_location=location,
        created_at=now_ms(),
        model_type=model_type or None,
        source_run_id=source_run_id or None,
        params=tuple(params),
        tags=tuple(tags),
    )
    await tx.append(model_stream(model_id), "model", [event], expected_version=0)

    return model_id


async def finalize_logged_model(
    tx: WriteTransaction, model_id: str, status: str
) -> None:
    if status not in MODEL_STATUSES.values():
        raise InvalidParameter(f"Invalid logged model status: '{status}'")
    await lock_model(tx, model_id)

    event = LoggedModelFinalized(
        model_id=model_id, status=status, finalized_at=now_ms()
    )
    await tx.append(model_stream(model_id), "model", [event])


async def set_logged_model_tags(
    tx: WriteTransaction, model_id: str, tags: Sequence[Tag]
) -> None:
    await lock_model(tx, model_id)
    if not tags:
        return

    await _remember_tag_keys(tx, model_id, tags)
    event = LoggedModelTagsSet(model_id=model_id, tags=tuple(tags), set_at=now_ms())
    await tx.append(model_stream(model_id), "model", [event])


async def delete_logged_model_tag(
    tx: WriteTransaction, model_id: str, key: str
) -> None:
    await lock_model(tx, model_id)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.logged_model_tags WHERE model_id = $1 AND key = $2"
        " RETURNING key",
        model_id,
        key,
    )
    if deleted is None:
        raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")

    event = LoggedModelTagDeleted(model_id=model_id, key=key, deleted_at=now_ms())
    await tx.append(model_stream(model_id), "model", [event])


async def log_logged_model_params(
    tx: WriteTransaction, model_id: str, params: Sequence[Param]
) -> None:
    await lock_model(tx, model_id)
    if not params:
        return

    event = LoggedModelParamsLogged(
        model_id=model_id, params=tuple(params), logged_at=now_ms()
    )
    await tx.append(model_stream(model_id), "model", [event])


async def delete_logged_model(tx: WriteTransaction, model_id: str) -> None:
    await lock_model(tx, model_id)

    await tx.connection.execute(
        "UPDATE decision.logged_models SET lifecycle_stage = $2 WHERE model_id = $1",
        model_id,
        DELETED,
    )
    event = LoggedModelDeleted(model_id=model_id, deleted_at=now_ms())
    await tx.append(model_stream(model_id), "model", [event])


async def log_outputs(
    tx: WriteTransaction, run_id: str, models: Sequence[ModelOutput]
) -> None:
    await lock_active_run(tx, run_id)
    for output in models:
        await lock_model(tx, output.model_id)

    if models:
        event = RunOutputsLogged(run_id=run_id, models=tuple(models))
        await tx.append(run_stream(run_id), "run", [event])


async def log_model_history(tx: WriteTransaction, run_id: str, model_json: str) -> None:
    """The 2.x ``runs/log-model`` call: remember the model in the run's tags."""
    await lock_active_run(tx, run_id)

    await tx.connection.execute(
        "INSERT INTO decision.run_tags VALUES ($1, $2) ON CONFLICT DO NOTHING",
        run_id,
        MODEL_HISTORY_TAG,
    )
    event = RunModelLogged(run_id=run_id, model_json=model_json)
    await tx.append(run_stream(run_id), "run", [event])


async def lock_model(tx: WriteTransaction, model_id: str) -> str:
    """Lock an active logged model's decision row; return its artifact root."""
    row = await tx.connection.fetchrow(
        "SELECT lifecycle_stage, artifact_location FROM decision.logged_models"
        " WHERE model_id = $1 FOR UPDATE",
        model_id,
    )
    if row is None or row["lifecycle_stage"] != ACTIVE:
        raise NotFound(f"Logged model with ID '{model_id}' not found.")

    location: str = row["artifact_location"]

    return location


async def _remember_tag_keys(
    tx: WriteTransaction, model_id: str, tags: Sequence[Tag]
) -> None:
    if tags:
        await tx.connection.execute(
            "INSERT INTO decision.logged_model_tags"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            model_id,
            [tag.key for tag in tags],
        )
