"""MLflow's entities as its REST API spells them, built from the read models.

Fields MLflow omits when unset default to None or an empty list and are left
out on encoding (``omit_defaults``); fields MLflow always sends have no
default.
"""

import math

import msgspec


def wire_double(value: float) -> float | str:
    """Spell a double as protobuf JSON does: NaN and infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class View(msgspec.Struct, omit_defaults=True):
    """Base of the API's entities."""


class KeyValue(View):
    key: str
    value: str


class Experiment(View):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    last_update_time: int
    creation_time: int
    tags: list[KeyValue] = []


class RunInfo(View):
    run_id: str
    run_uuid: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    artifact_uri: str
    lifecycle_stage: str
    start_time: int | None = None
    end_time: int | None = None


class Metric(View):
    key: str
    value: float | str
    timestamp: int
    step: int


class MetricWithRunId(View):
    key: str
    value: float | str
    timestamp: int
    step: int
    run_id: str


class RunData(View):
    metrics: list[Metric] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class Dataset(View):
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


class DatasetInput(View):
    dataset: Dataset
    tags: list[KeyValue] = []


class RunInputs(View):
    dataset_inputs: list[DatasetInput] = []


class RunOutputs(View):
    model_outputs: list["ModelOutput"] = []


class Run(View):
    info: RunInfo
    data: RunData
    inputs: RunInputs
    outputs: RunOutputs


class DatasetSummary(View):
    experiment_id: str
    name: str
    digest: str
    context: str | None = None


class ModelOutput(View):
    model_id: str
    step: int


class LoggedModelMetric(View):
    key: str
    value: float | str
    timestamp: int
    step: int
    model_id: str
    run_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LoggedModelInfo(View):
    model_id: str
    experiment_id: str
    name: str
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    artifact_uri: str
    status: str
    model_type: str | None = None
    source_run_id: str | None = None
    tags: list[KeyValue] = []


class LoggedModelData(View):
    params: list[KeyValue] = []
    metrics: list[LoggedModelMetric] = []


class LoggedModel(View):
    info: LoggedModelInfo
    data: LoggedModelData


class FileInfo(View):
    path: str
    is_dir: bool
    file_size: int | None = None
