"""Model registry commands: registered models, their versions, tags and aliases.

Each command checks its request by MLflow's rules, then locks the model's
row of decision.registered_models FOR UPDATE before it reads or writes any
other registry state, so the commands of one model run one at a time and
see each other's effects.  After it come the model's version counter, the
row of a logged model a new version links to, then es.head (inside
es.append); no command takes these locks in another order.  Every event
goes to the model's stream, and the append path records who sent the
request.
"""

import json
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from tracker.clock import now_ms
from tracker.commands import logged_models, validation
from tracker.commands import registry_validation as rules
from tracker.commands.model_sources import resolve_source
from tracker.errors import AlreadyExists, InvalidParameter, NotFound
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import Event, Tag
from tracker.eventlog.registry_events import (
    ModelVersionCreated,
    ModelVersionDeleted,
    ModelVersionDescriptionUpdated,
    ModelVersionStageTransitioned,
    ModelVersionTagDeleted,
    ModelVersionTagSet,
    RegisteredModelAliasDeleted,
    RegisteredModelAliasSet,
    RegisteredModelCreated,
    RegisteredModelDeleted,
    RegisteredModelDescriptionUpdated,
    RegisteredModelRenamed,
    RegisteredModelTagDeleted,
    RegisteredModelTagSet,
)

STREAM_TYPE = "registered-model"
# A version as requests carry it: MLflow's string, or a number.
VersionIn = str | int | None
# The logged-model tag listing the versions registered from the model.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


class LockedModel(msgspec.Struct, frozen=True):
    """A registered model's decision row, locked for the transaction."""

    model_key: str
    name: str


class VersionRef(msgspec.Struct, frozen=True):
    """A version as commands name it: its model's key and its number."""

    model_key: str
    version: int


def registered_model_stream(model_key: str) -> str:
    return f"registered-model-{model_key}"


# Registered models --------------------------------------------------------


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
    tags = _last_value_per_key(tags)
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
    await _append(tx, model, [event])

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
    await _append(tx, model, [event])

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
    await _append(tx, model, [event])


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
    await _append(tx, model, [event])


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
    await _append(tx, model, [event])


async def set_registered_model_alias(
    tx: WriteTransaction, name: str | None, alias: str | None, version: VersionIn
) -> None:
    """Point ``alias`` at ``version``, moving it from any version it named."""
    alias = rules.check_alias(alias)
    rules.check_alias_not_reserved(alias)
    number = rules.parse_version(version)
    model = await lock_registered_model(tx, name)
    await _require_version(tx, model, number)

    await tx.connection.execute(
        "INSERT INTO decision.registered_model_aliases VALUES ($1, $2, $3)"
        " ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
        model.model_key,
        alias,
        number,
    )
    event = RegisteredModelAliasSet(
        model_key=model.model_key,
        name=model.name,
        alias=alias,
        version=number,
        set_at=now_ms(),
    )
    await _append(tx, model, [event])


async def delete_registered_model_alias(
    tx: WriteTransaction, name: str | None, alias: str | None
) -> None:
    """Delete an alias; deleting one that is not there is no error, as in MLflow."""
    alias = rules.check_alias(alias)
    model = await lock_registered_model(tx, name)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.registered_model_aliases"
        " WHERE model_key = $1 AND alias = $2 RETURNING alias",
        model.model_key,
        alias,
    )
    if deleted is None:
        return

    event = RegisteredModelAliasDeleted(
        model_key=model.model_key, name=model.name, alias=alias, deleted_at=now_ms()
    )
    await _append(tx, model, [event])


# Model versions ------------------------------------------------------------


async def create_model_version(
    tx: WriteTransaction,
    name: str | None,
    source: str | None,
    *,
    run_id: str | None = None,
    model_id: str | None = None,
    tags: Sequence[Tag] = (),
    run_link: str | None = None,
    description: str | None = None,
) -> VersionRef:
    """Register the next version of a model from ``source``.

    The version is ready at once: its files are already where the source
    says (see ``tracker.commands.model_sources``).  A version made from a
    logged model is also listed in that model's ``mlflow.modelVersions`` tag.
    """
    rules.check_model_name(name)
    source = validation.require(source, "source")
    rules.check_text(source, "source")
    tags = _last_value_per_key(tags)
    for tag in tags:
        rules.check_tag(tag)
    run_link = rules.check_text(run_link or "", "run_link")
    description = rules.check_text(description or "", "description")
    model = await lock_registered_model(tx, name)

    resolved = await resolve_source(
        tx.connection, source, run_id=run_id or None, model_id=model_id or None
    )
    version = await _issue_version_number(tx, model)
    await tx.connection.execute(
        "INSERT INTO decision.model_versions VALUES ($1, $2, $3, $4, $5, $6)",
        model.model_key,
        version,
        rules.STAGE_NONE,
        resolved.storage_location,
        resolved.run_id,
        resolved.model_id,
    )
    await _remember_version_tags(tx, model.model_key, version, tags)

    event = ModelVersionCreated(
        model_key=model.model_key,
        name=model.name,
        version=version,
        source=resolved.source,
        storage_location=resolved.storage_location,
        created_at=now_ms(),
        run_id=resolved.run_id,
        model_id=resolved.model_id,
        run_link=run_link,
        description=description,
        tags=tuple(tags),
    )
    await _append(tx, model, [event])
    if resolved.model_id is not None:
        await _list_versions_on_logged_model(tx, resolved.model_id)

    return VersionRef(model.model_key, version)


async def update_model_version(
    tx: WriteTransaction,
    name: str | None,
    version: VersionIn,
    description: str | None,
) -> VersionRef:
    """Set a version's description."""
    number = rules.parse_version(version)
    description = rules.check_text(description or "", "description")
    model = await lock_registered_model(tx, name)
    await _require_version(tx, model, number)

    event = ModelVersionDescriptionUpdated(
        model_key=model.model_key,
        name=model.name,
        version=number,
        description=description,
        updated_at=now_ms(),
    )
    await _append(tx, model, [event])

    return VersionRef(model.model_key, number)


async def transition_model_version_stage(
    tx: WriteTransaction,
    name: str | None,
    version: VersionIn,
    stage: str | None,
    *,
    archive_existing_versions: bool,
) -> VersionRef:
    """Move a version to a stage, archiving the stage's others if asked."""
    number = rules.parse_version(version)
    stage = rules.canonical_stage(stage)
    rules.check_archiving(stage, archive_existing_versions)
    model = await lock_registered_model(tx, name)
    from_stage = await _require_version(tx, model, number)

    archived: list[int] = []
    if archive_existing_versions:
        archived = [
            row["version"]
            for row in await tx.connection.fetch(
                "UPDATE decision.model_versions SET stage = $4"
                " WHERE model_key = $1 AND stage = $2 AND version <> $3"
                " RETURNING version",
                model.model_key,
                stage,
                number,
                rules.STAGE_ARCHIVED,
            )
        ]
    await tx.connection.execute(
        "UPDATE decision.model_versions SET stage = $3"
        " WHERE model_key = $1 AND version = $2",
        model.model_key,
        number,
        stage,
    )

    event = ModelVersionStageTransitioned(
        model_key=model.model_key,
        name=model.name,
        version=number,
        stage=stage,
        transitioned_at=now_ms(),
        from_stage=from_stage,
        archived=tuple(sorted(archived)),
    )
    await _append(tx, model, [event])

    return VersionRef(model.model_key, number)


async def delete_model_version(
    tx: WriteTransaction, name: str | None, version: VersionIn
) -> None:
    """Delete a version and the aliases naming it; its number stays used."""
    number = rules.parse_version(version)
    model = await lock_registered_model(tx, name)
    await _require_version(tx, model, number)

    dropped = await tx.connection.fetch(
        "DELETE FROM decision.registered_model_aliases"
        " WHERE model_key = $1 AND version = $2 RETURNING alias",
        model.model_key,
        number,
    )
    await tx.connection.execute(
        "DELETE FROM decision.model_versions WHERE model_key = $1 AND version = $2",
        model.model_key,
        number,
    )

    event = ModelVersionDeleted(
        model_key=model.model_key,
        name=model.name,
        version=number,
        deleted_at=now_ms(),
        dropped_aliases=tuple(sorted(row["alias"] for row in dropped)),
    )
    await _append(tx, model, [event])


async def set_model_version_tag(
    tx: WriteTransaction, name: str | None, version: VersionIn, tag: Tag
) -> None:
    number = rules.parse_version(version)
    rules.check_tag(tag)
    model = await lock_registered_model(tx, name)
    await _require_version(tx, model, number)

    await _remember_version_tags(tx, model.model_key, number, [tag])
    event = ModelVersionTagSet(
        model_key=model.model_key,
        name=model.name,
        version=number,
        key=tag.key,
        value=tag.value,
        set_at=now_ms(),
    )
    await _append(tx, model, [event])


async def delete_model_version_tag(
    tx: WriteTransaction, name: str | None, version: VersionIn, key: str
) -> None:
    """Delete a version's tag; one that is not there is no error, as in MLflow."""
    number = rules.parse_version(version)
    validation.check_key(key, "tag")
    model = await lock_registered_model(tx, name)
    await _require_version(tx, model, number)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.model_version_tags"
        " WHERE model_key = $1 AND version = $2 AND key = $3 RETURNING key",
        model.model_key,
        number,
        key,
    )
    if deleted is None:
        return

    event = ModelVersionTagDeleted(
        model_key=model.model_key,
        name=model.name,
        version=number,
        key=key,
        deleted_at=now_ms(),
    )
    await _append(tx, model, [event])


# Shared steps ---------------------------------------------------------------


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


async def _issue_version_number(tx: WriteTransaction, model: LockedModel) -> int:
    """The model's next version number; the model's lock keeps it unshared."""
    issued: int = await tx.connection.fetchval(
        "INSERT INTO decision.model_version_numbers AS n VALUES ($1, 1)"
        " ON CONFLICT (model_key) DO UPDATE SET last_issued = n.last_issued + 1"
        " RETURNING last_issued",
        model.model_key,
    )

    return issued


async def _require_version(
    tx: WriteTransaction, model: LockedModel, version: int
) -> str:
    """Return the stage of a live version of the locked model."""
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


async def _list_versions_on_logged_model(tx: WriteTransaction, model_id: str) -> None:
    """Tag the logged model with every live version registered from it."""
    # MLflow appends to the tag's last value; the decision rows hold the same
    # list without reading a read model, though under the models' current
    # names, and without versions deleted since.
    rows = await tx.connection.fetch(
        "SELECT m.name, v.version FROM decision.model_versions v"
        " JOIN decision.registered_models m USING (model_key)"
        " WHERE v.model_id = $1 ORDER BY m.name, v.version",
        model_id,
    )
    listed = [{"name": row["name"], "version": row["version"]} for row in rows]
    tag = Tag(MODEL_VERSIONS_TAG, json.dumps(listed))

    await logged_models.set_logged_model_tags(tx, model_id, [tag])


async def _append(
    tx: WriteTransaction, model: LockedModel, events: Sequence[Event]
) -> None:
    await tx.append(registered_model_stream(model.model_key), STREAM_TYPE, events)


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


async def _remember_version_tags(
    tx: WriteTransaction, model_key: str, version: int, tags: Sequence[Tag]
) -> None:
    if tags:
        await tx.connection.execute(
            "INSERT INTO decision.model_version_tags"
            " SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING",
            model_key,
            version,
            [tag.key for tag in tags],
        )


def _last_value_per_key(tags: Sequence[Tag]) -> list[Tag]:
    """A request's tags with a repeated key kept once, at its last value."""
    return [Tag(key, value) for key, value in {t.key: t.value for t in tags}.items()]
