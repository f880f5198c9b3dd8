"""Commands on registered models themselves: create, rename, describe, delete, tag."""

import uuid
from collections.abc import Sequence

import asyncpg

from tracker.clock import now_ms
from tracker.commands import registry_validation as rules
from tracker.commands import validation
from tracker.commands.registry.model_lock import (
    STREAM_TYPE,
    append_to_model,
    last_value_per_key,
    lock_registered_model,
    registered_model_stream,
)
from tracker.errors import AlreadyExists, InvalidParameter
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import Tag
from tracker.eventlog.registry_events import (
    RegisteredModelCreated,
    RegisteredModelDeleted,
    RegisteredModelDescriptionUpdated,
    RegisteredModelRenamed,
    RegisteredModelTagDeleted,
    RegisteredModelTagSet,
)


async def create_registered_model(
    tx: WriteTransaction,
    name: str | None,
    *,
    tags: Sequence[Tag] = (),
    description: str | None = None,
) -> str:
    """Register a new model name; return the model's key.

    Raises:
        AlreadyExists: A model of that name exists.
    """
    name = rules.check_model_name(name)
    tags = last_value_per_key(tags)
    for tag in tags:
        rules.check_tag(tag)
    if description is not None:
        rules.check_text(description, "description")

    model_key = uuid.uuid4().hex
    try:
        await tx.connection.execute(
            "INSERT INTO decision.registered_models (model_key, name) VALUES ($1, $2)",
            model_key,
            name,
        )
    except asyncpg.UniqueViolationError:
        raise AlreadyExists(f"Registered Model (name={name}) already exists.") from None
    await _remember_model_tags(tx, model_key, tags)

    event = RegisteredModelCreated(
        model_key=model_key,
        name=name,
        created_at=now_ms(),
        description=description,
        tags=tuple(tags),
    )
    await tx.append(
        registered_model_stream(model_key), STREAM_TYPE, [event], expected_version=0
    )

    return model_key


async def rename_registered_model(
    tx: WriteTransaction, name: str | None, new_name: str | None
) -> str:
    """Give the model and its versions a new name; return the model's key."""
    if new_name is None or not new_name.strip():
        raise InvalidParameter("Missing value for required parameter 'new_name'.")
    new_name = rules.check_model_name(new_name)
    model = await lock_registered_model(tx, name)

    try:
        await tx.connection.execute(
            "UPDATE decision.registered_models SET name = $2 WHERE model_key = $1",
            model.model_key,
            new_name,
        )
    except asyncpg.UniqueViolationError:
        msg = f"Registered Model (name={new_name}) already exists."
        raise AlreadyExists(msg) from None

    event = RegisteredModelRenamed(
        model_key=model.model_key,
        old_name=model.name,
        name=new_name,
        renamed_at=now_ms(),
    )
    await append_to_model(tx, model, [event])

    return model.model_key


async def update_registered_model(
    tx: WriteTransaction, name: str | None, description: str | None
) -> str:
    """Set the model's description; return the model's key."""
    description = rules.check_text(description or "", "description")
    model = await lock_registered_model(tx, name)

    event = RegisteredModelDescriptionUpdated(
        model_key=model.model_key,
        name=model.name,
        description=description,
        updated_at=now_ms(),
    )
    await append_to_model(tx, model, [event])

    return model.model_key


async def delete_registered_model(tx: WriteTransaction, name: str | None) -> None:
    """Delete the model with its versions, tags and aliases; free its name."""
    model = await lock_registered_model(tx, name)

    await tx.connection.execute(
        "DELETE FROM decision.registered_models WHERE model_key = $1", model.model_key
    )
    event = RegisteredModelDeleted(
        model_key=model.model_key, name=model.name, deleted_at=now_ms()
    )
    await append_to_model(tx, model, [event])


async def set_registered_model_tag(
    tx: WriteTransaction, name: str | None, tag: Tag
) -> None:
    rules.check_tag(tag)
    model = await lock_registered_model(tx, name)

    await _remember_model_tags(tx, model.model_key, [tag])
    event = RegisteredModelTagSet(
        model_key=model.model_key,
        name=model.name,
        key=tag.key,
        value=tag.value,
        set_at=now_ms(),
    )
    await append_to_model(tx, model, [event])


async def delete_registered_model_tag(
    tx: WriteTransaction, name: str | None, key: str
) -> None:
    """Delete a tag; deleting one that is not there is no error, as in MLflow."""
    validation.check_key(key, "tag")
    model = await lock_registered_model(tx, name)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.registered_model_tags WHERE model_key = $1 AND key = $2"
        " RETURNING key",
        model.model_key,
        key,
    )
    if deleted is None:
        return

    event = RegisteredModelTagDeleted(
        model_key=model.model_key, name=model.name, key=key, deleted_at=now_ms()
    )
    await append_to_model(tx, model, [event])


async def _remember_model_tags(
    tx: WriteTransaction, model_key: str, tags: Sequence[Tag]
) -> None:
    if tags:
        await tx.connection.execute(
            "INSERT INTO decision.registered_model_tags"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            model_key,
            [tag.key for tag in tags],
        )
