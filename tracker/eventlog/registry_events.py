"""The events of the model registry, as stored in a tenant's log.

Every event of one registered model goes to its stream,
``registered-model-<model_key>``.  The key is drawn once, when the model is
created, and never changes, so a rename keeps the model's whole history on
one stream; a model created later under a freed name gets a new key and a
new stream.  Folds key their rows by ``model_key``; ``name`` is the model's
name when the event happened, there for readers of the audit trail.

Versions are whole numbers counted per model from 1; a deleted version's
number is never given out again.  The rules of ``tracker.eventlog.events``
for evolving an event apply here too.
"""

from tracker.eventlog.events import Event, Tag

# Registered models ---------------------------------------------------------


class RegisteredModelCreated(Event, frozen=True):
    model_key: str
    name: str
    created_at: int
    description: str | None = None
    tags: tuple[Tag, ...] = ()


class RegisteredModelRenamed(Event, frozen=True):
    """The model and all of its versions go by ``name`` from now on."""

    model_key: str
    old_name: str
    name: str
    renamed_at: int


class RegisteredModelDescriptionUpdated(Event, frozen=True):
    model_key: str
    name: str
    description: str
    updated_at: int


class RegisteredModelDeleted(Event, frozen=True):
    """The model, its versions, tags and aliases are gone; the name is free."""

    model_key: str
    name: str
    deleted_at: int


class RegisteredModelTagSet(Event, frozen=True):
    model_key: str
    name: str
    key: str
    value: str
    set_at: int


class RegisteredModelTagDeleted(Event, frozen=True):
    model_key: str
    name: str
    key: str
    deleted_at: int


class RegisteredModelAliasSet(Event, frozen=True):
    """``alias`` points at ``version`` now, whichever it pointed at before."""

    model_key: str
    name: str
    alias: str
    version: int
    set_at: int


class RegisteredModelAliasDeleted(Event, frozen=True):
    model_key: str
    name: str
    alias: str
    deleted_at: int


# Model versions ------------------------------------------------------------


class ModelVersionCreated(Event, frozen=True):
    """A version is registered; it starts in stage ``None``, ready.

    ``source`` is the URI the client gave; ``storage_location`` is where the
    files are, in the tenant's artifact store when the source names a run,
    a logged model or another version.
    """

    model_key: str
    name: str
    version: int
    source: str
    storage_location: str
    created_at: int
    run_id: str | None = None
    model_id: str | None = None
    run_link: str = ""
    description: str = ""
    tags: tuple[Tag, ...] = ()


class ModelVersionDescriptionUpdated(Event, frozen=True):
    model_key: str
    name: str
    version: int
    description: str
    updated_at: int


class ModelVersionStageTransitioned(Event, frozen=True):
    """``version`` moved to ``stage``; the ``archived`` versions left it for Archived.

    ``archived`` lists the versions that were in ``stage`` when the caller
    asked to archive existing versions, and is empty otherwise.
    """

    model_key: str
    name: str
    version: int
    stage: str
    transitioned_at: int
    from_stage: str | None = None
    archived: tuple[int, ...] = ()


class ModelVersionDeleted(Event, frozen=True):
    """The version is gone; so are ``dropped_aliases``, which pointed at it."""

    model_key: str
    name: str
    version: int
    deleted_at: int
    dropped_aliases: tuple[str, ...] = ()


class ModelVersionTagSet(Event, frozen=True):
    model_key: str
    name: str
    version: int
    key: str
    value: str
    set_at: int


class ModelVersionTagDeleted(Event, frozen=True):
    model_key: str
    name: str
    version: int
    key: str
    deleted_at: int


REGISTRY_EVENTS: tuple[type[Event], ...] = (
    RegisteredModelCreated,
    RegisteredModelRenamed,
    RegisteredModelDescriptionUpdated,
    RegisteredModelDeleted,
    RegisteredModelTagSet,
    RegisteredModelTagDeleted,
    RegisteredModelAliasSet,
    RegisteredModelAliasDeleted,
    ModelVersionCreated,
    ModelVersionDescriptionUpdated,
    ModelVersionStageTransitioned,
    ModelVersionDeleted,
    ModelVersionTagSet,
    ModelVersionTagDeleted,
)
