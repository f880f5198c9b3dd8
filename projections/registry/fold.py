"""How each registry event changes the registry's read models.

Events merge into a ``RegistryChanges`` set.  A rename also moves the
last-update time of every version of the model, including versions the
batch never mentions, so it first writes what has been merged so far and
then updates them with one statement.  Events of other domains are not
this projector's and pass by.
"""

from collections.abc import Iterable

from projections.registry.changes import RegistryChanges
from tracker.db import Connection
from tracker.eventlog.events import Event
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

STAGE_NONE = "None"
STAGE_ARCHIVED = "Archived"
# Versions are ready once registered: their files are already in place.
STATUS_READY = "READY"


async def fold(connection: Connection, events: Iterable[Event]) -> None:
    """Apply ``events``, in log order, to the registry's read models."""
    changes = RegistryChanges()

    for event in events:
        if isinstance(event, RegisteredModelRenamed):
            changes = await _rename(connection, changes, event)
        else:
            _merge(changes, event)

    await changes.write(connection)


def _merge(changes: RegistryChanges, event: Event) -> None:
    match event:
        case RegisteredModelCreated():
            changes.new_models[event.model_key] = {
                "model_key": event.model_key,
                "name": event.name,
                "description": event.description,
                "creation_time": event.created_at,
                "last_update_time": event.created_at,
            }
            for tag in event.tags:
                changes.model_tags[(event.model_key, tag.key)] = tag.value
        case RegisteredModelDescriptionUpdated():
            changes.update_model(
                event.model_key,
                description=event.description,
                last_update_time=event.updated_at,
            )
        case RegisteredModelDeleted():
            changes.delete_model(event.model_key)
        case RegisteredModelTagSet():
            changes.model_tags[(event.model_key, event.key)] = event.value
        case RegisteredModelTagDeleted():
            changes.model_tags[(event.model_key, event.key)] = None
        case RegisteredModelAliasSet():
            changes.aliases[(event.model_key, event.alias)] = event.version
        case RegisteredModelAliasDeleted():
            changes.aliases[(event.model_key, event.alias)] = None
        case _:
            _merge_version(changes, event)


def _merge_version(changes: RegistryChanges, event: Event) -> None:
    match event:
        case ModelVersionCreated():
            changes.new_versions[(event.model_key, event.version)] = {
                "model_key": event.model_key,
                "version": event.version,
                "creation_time": event.created_at,
                "last_update_time": event.created_at,
                "current_stage": STAGE_NONE,
                "description": event.description,
                "source": event.source,
                "storage_location": event.storage_location,
                "run_id": event.run_id,
                "run_link": event.run_link,
                "model_id": event.model_id,
                "status": STATUS_READY,
            }
            for tag in event.tags:
                key = (event.model_key, event.version, tag.key)
                changes.version_tags[key] = tag.value
            changes.update_model(event.model_key, last_update_time=event.created_at)
        case ModelVersionDescriptionUpdated():
            changes.update_version(
                event.model_key,
                event.version,
                description=event.description,
                last_update_time=event.updated_at,
            )
        case ModelVersionStageTransitioned():
            at = event.transitioned_at
            for archived in event.archived:
                changes.update_version(
                    event.model_key,
                    archived,
                    current_stage=STAGE_ARCHIVED,
                    last_update_time=at,
                )
            changes.update_version(
                event.model_key,
                event.version,
                current_stage=event.stage,
                last_update_time=at,
            )
            changes.update_model(event.model_key, last_update_time=at)
        case ModelVersionDeleted():
            changes.delete_version(event.model_key, event.version)
            for alias in event.dropped_aliases:
                changes.aliases[(event.model_key, alias)] = None
            changes.update_model(event.model_key, last_update_time=event.deleted_at)
        case ModelVersionTagSet():
            key = (event.model_key, event.version, event.key)
            changes.version_tags[key] = event.value
        case ModelVersionTagDeleted():
            key = (event.model_key, event.version, event.key)
            changes.version_tags[key] = None


async def _rename(
    connection: Connection, changes: RegistryChanges, event: RegisteredModelRenamed
) -> RegistryChanges:
    changes.update_model(
        event.model_key, name=event.name, last_update_time=event.renamed_at
    )
    await changes.write(connection)

    await connection.execute(
        "UPDATE model_versions SET last_update_time = $2 WHERE model_key = $1",
        event.model_key,
        event.renamed_at,
    )

    return RegistryChanges()
