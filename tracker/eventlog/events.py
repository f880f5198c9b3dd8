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


class Tag(msgspec.Struct, frozen=True):
    key: str
    value: str


class Param(msgspec.Struct, frozen=True):
    key: str
    value: str


class Metric(msgspec.Struct, frozen=True):
    key: str
    value: float
    timestamp: int
    step: int = 0


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
)
