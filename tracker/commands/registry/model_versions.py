"""Commands on model versions: register, describe, move between stages, delete, tag."""

import json
from collections.abc import Sequence

from tracker.clock import now_ms
from tracker.commands import logged_models, validation
from tracker.commands import registry_validation as rules
from tracker.commands.model_sources import resolve_source
from tracker.commands.registry.model_lock import (
    LockedModel,
    VersionIn,
    VersionRef,
    append_to_model,
    last_value_per_key,
    lock_registered_model,
    require_version,
)
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.events import Tag
from tracker.eventlog.registry_events import (
    ModelVersionCreated,
    ModelVersionDeleted,
    ModelVersionDescriptionUpdated,
    ModelVersionStageTransitioned,
    ModelVersionTagDeleted,
    ModelVersionTagSet,
)

# The logged-model tag listing the versions registered from the model.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


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
    tags = last_value_per_key(tags)
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
    await append_to_model(tx, model, [event])
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
    await require_version(tx, model, number)

    event = ModelVersionDescriptionUpdated(
        model_key=model.model_key,
        name=model.name,
        version=number,
        description=description,
        updated_at=now_ms(),
    )
    await append_to_model(tx, model, [event])

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
    from_stage = await require_version(tx, model, number)

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
    await append_to_model(tx, model, [event])

    return VersionRef(model.model_key, number)


async def delete_model_version(
    tx: WriteTransaction, name: str | None, version: VersionIn
) -> None:
    """Delete a version and the aliases naming it; its number stays used."""
    number = rules.parse_version(version)
    model = await lock_registered_model(tx, name)
    await require_version(tx, model, number)

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
    await append_to_model(tx, model, [event])


async def set_model_version_tag(
    tx: WriteTransaction, name: str | None, version: VersionIn, tag: Tag
) -> None:
    number = rules.parse_version(version)
    rules.check_tag(tag)
    model = await lock_registered_model(tx, name)
    await require_version(tx, model, number)

    await _remember_version_tags(tx, model.model_key, number, [tag])
    event = ModelVersionTagSet(
        model_key=model.model_key,
        name=model.name,
        version=number,
        key=tag.key,
        value=tag.value,
        set_at=now_ms(),
    )
    await append_to_model(tx, model, [event])


async def delete_model_version_tag(
    tx: WriteTransaction, name: str | None, version: VersionIn, key: str
) -> None:
    """Delete a version's tag; one that is not there is no error, as in MLflow."""
    number = rules.parse_version(version)
    validation.check_key(key, "tag")
    model = await lock_registered_model(tx, name)
    await require_version(tx, model, number)

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
    await append_to_model(tx, model, [event])


async def _issue_version_number(tx: WriteTransaction, model: LockedModel) -> int:
    """The model's next version number; the model's lock keeps it unshared."""
    issued: int = await tx.connection.fetchval(
        "INSERT INTO decision.model_version_numbers AS n VALUES ($1, 1)"
        " ON CONFLICT (model_key) DO UPDATE SET last_issued = n.last_issued + 1"
        " RETURNING last_issued",
        model.model_key,
    )

    return issued


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
