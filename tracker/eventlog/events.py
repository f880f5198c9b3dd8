"""The events of the tracking domain, as stored in a tenant's log.

Each event is a frozen msgspec Struct.  Its ``event_type`` is the class name
and its ``schema_version`` a class constant; both are stored in their own
columns beside the msgpack payload.  Evolving an event follows msgspec's
schema-evolution rules: a new field gets a default, a field never changes
type, and an incompatible change is a new schema version with an upcaster
in ``tracker.eventlog.codec``.
"""

from typing import ClassVar

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event; subclasses name what happened."""

    schema_version: ClassVar[int] = 1


# The structs a batch holds by the thousand take gc=False: they hold only
# strings and numbers, so they can be in no reference cycle, and leaving
# them out of the cycle collector keeps its pauses short under ingest.


class Tag(msgspec.Struct, frozen=True, gc=False):
    key: str
    value: str


class Param(msgspec.Struct, frozen=True, gc=False):
    key: str
    value: str


class Metric(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    key: str
    value: float
    timestamp: int
    step: int = 0
    # MLflow 3 links a metric to a logged model and to the dataset it was
    # computed on.
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class Dataset(msgspec.Struct, frozen=True):
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


class DatasetInput(msgspec.Struct, frozen=True):
    dataset: Dataset
    tags: tuple[Tag, ...] = ()


# Experiments -------------------------------------------------------------


class ExperimentCreated(Event, frozen=True):
    experiment_id: int
    name: str
    artifact_location: str
    created_at: int
    tags: tuple[Tag, ...] = ()


class ExperimentRenamed(Event, frozen=True):
    experiment_id: int
    name: str
    renamed_at: int


class ExperimentDeleted(Event, frozen=True):
    """The experiment and, with it, all of its runs are soft-deleted."""

    experiment_id: int
    deleted_at: int


class ExperimentRestored(Event, frozen=True):
    """The experiment and all of its runs are active again."""

    experiment_id: int
    restored_at: int


class ExperimentTagSet(Event, frozen=True):
    experiment_id: int
    key: str
    value: str


class ExperimentTagDeleted(Event, frozen=True):
    experiment_id: int
    key: str


# Runs --------------------------------------------------------------------


class RunCreated(Event, frozen=True):
    run_id: str
    experiment_id: int
    run_name: str
    user_id: str
    start_time: int | None
    artifact_uri: str
    tags: tuple[Tag, ...] = ()


class RunUpdated(Event, frozen=True):
    """Fields left as None are unchanged."""

    run_id: str
    status: str | None = None
    end_time: int | None = None
    run_name: str | None = None


class RunDeleted(Event, frozen=True):
    run_id: str
    deleted_at: int


class RunRestored(Event, frozen=True):
    run_id: str
    restored_at: int


class MetricsLogged(Event, frozen=True):
    run_id: str
    metrics: tuple[Metric, ...]


class ParamsLogged(Event, frozen=True):
    run_id: str
    params: tuple[Param, ...]


class RunTagsSet(Event, frozen=True):
    run_id: str
    tags: tuple[Tag, ...]


class RunTagDeleted(Event, frozen=True):
    run_id: str
    key: str


class RunInputsLogged(Event, frozen=True):
    run_id: str
    experiment_id: int
    datasets: tuple[DatasetInput, ...]
    logged_at: int


class ModelOutput(msgspec.Struct, frozen=True):
    model_id: str
    step: int = 0


class RunOutputsLogged(Event, frozen=True):
    """A run produced logged models (MLflow 3's ``runs/outputs``)."""

    run_id: str
    models: tuple[ModelOutput, ...]


class RunModelLogged(Event, frozen=True):
    """A 2.x client logged a model: kept in the ``mlflow.log-model.history`` tag."""

    run_id: str
    model_json: str


# Artifacts ---------------------------------------------------------------


class ArtifactStored(Event, frozen=True):
    """A file was written under an artifact root, whole.

    ``root`` is the root's path in the tenant's bucket, such as
    ``1/<run_id>/artifacts``; ``path`` is relative to it.
    """

    root: str
    path: str
    size: int
    etag: str
    version_id: str | None
    stored_at: int


class ArtifactDeleted(Event, frozen=True):
    root: str
    path: str
    version_id: str | None
    deleted_at: int


# Logged models (MLflow 3) ------------------------------------------------


class LoggedModelCreated(Event, frozen=True):
    model_id: str
    experiment_id: int
    name: str
    artifact_location: str
    created_at: int
    model_type: str | None = None
    source_run_id: str | None = None
    params: tuple[Param, ...] = ()
    tags: tuple[Tag, ...] = ()


class LoggedModelFinalized(Event, frozen=True):
    model_id: str
    status: str
    finalized_at: int


class LoggedModelTagsSet(Event, frozen=True):
    model_id: str
    tags: tuple[Tag, ...]
    set_at: int


class LoggedModelTagDeleted(Event, frozen=True):
    model_id: str
    key: str
    deleted_at: int


class LoggedModelParamsLogged(Event, frozen=True):
    model_id: str
    params: tuple[Param, ...]
    logged_at: int


class LoggedModelDeleted(Event, frozen=True):
    model_id: str
    deleted_at: int


# Tenant --------------------------------------------------------------------


class TenantRestored(Event, frozen=True):
    """The tenant was taken back to the state at position ``target``.

    Events after ``target`` up to this one stay in the log but are no longer
    part of the effective history; events after this one apply on top.
    """

    target: int
    superseded_to: int
    reason: str
    restored_at: int


TRACKING_EVENTS: tuple[type[Event], ...] = (
    ExperimentCreated,
    ExperimentRenamed,
    ExperimentDeleted,
    ExperimentRestored,
    ExperimentTagSet,
    ExperimentTagDeleted,
    RunCreated,
    RunUpdated,
    RunDeleted,
    RunRestored,
    MetricsLogged,
    ParamsLogged,
    RunTagsSet,
    RunTagDeleted,
    RunInputsLogged,
    RunOutputsLogged,
    RunModelLogged,
    ArtifactStored,
    ArtifactDeleted,
    LoggedModelCreated,
    LoggedModelFinalized,
    LoggedModelTagsSet,
    LoggedModelTagDeleted,
    LoggedModelParamsLogged,
    LoggedModelDeleted,
    TenantRestored,
)
