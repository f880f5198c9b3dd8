"""What every registry command shares: the model's lock, its stream, its versions."""

from collections.abc import Sequence

import msgspec

from tracker.commands import registry_validation as rules
from tracker.errors import NotFound
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import Event, Tag

STREAM_TYPE = "registered-model"
# A version as requests carry it: MLflow's string, or a number.
VersionIn = str | int | None


class LockedModel(msgspec.Struct, frozen=True):
    """A registered model's decision row, locked for the transaction."""

    model_key: str
    name: str


class VersionRef(msgspec.Struct, frozen=True):
    """A version as commands name it: its model's key and its number."""

    model_key: str
    version: int


def registered_model_stream(model_key: str) -> str:
    """The event stream of the model with ``model_key``."""
    return f"registered-model-{model_key}"


async def lock_registered_model(tx: WriteTransaction, name: str | None) -> LockedModel:
    """Lock the named model's decision row, the first lock of every command.

    Raises:
        InvalidParameter: The name breaks MLflow's rules.
        NotFound: No model has that name.
    """
    name = rules.check_model_name(name)
    row = await tx.connection.fetchrow(
        "SELECT model_key, name FROM decision.registered_models"
        " WHERE name = $1 FOR UPDATE",
        name,
    )
    if row is None:
        raise NotFound(f"Registered Model with name={name} not found")

    return LockedModel(row["model_key"], row["name"])


async def require_version(
    tx: WriteTransaction, model: LockedModel, version: int
) -> str:
    """Return the stage of a live version of the locked model.

    Raises:
        NotFound: The model has no such version, or it was deleted.
    """
    stage: str | None = await tx.connection.fetchval(
        "SELECT stage FROM decision.model_versions"
        " WHERE model_key = $1 AND version = $2",
        model.model_key,
        version,
    )
    if stage is None:
        msg = f"Model Version (name={model.name}, version={version}) not found"
        raise NotFound(msg)

    return stage


async def append_to_model(
    tx: WriteTransaction, model: LockedModel, events: Sequence[Event]
) -> None:
    """Append ``events`` to the locked model's stream."""
    await tx.append(registered_model_stream(model.model_key), STREAM_TYPE, events)


def last_value_per_key(tags: Sequence[Tag]) -> list[Tag]:
    """A request's tags with a repeated key kept once, at its last value."""
    return [Tag(key, value) for key, value in {t.key: t.value for t in tags}.items()]
