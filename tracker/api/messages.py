"""MLflow's request messages for the tracking API, as typed structs.

Field names and types follow MLflow's protos (``service.proto``).  Fields the
proto marks required but the server checks itself are optional here, so a
missing one gets MLflow's own message rather than a decoder's.

Every integer is an ``Int64``, as in the protos: the decoder itself refuses
a wider one, so no request walks its fields again to check them.
"""

from typing import Annotated

import msgspec

from tracker.commands.validation import INT64_MAX, INT64_MIN

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]


class Message(msgspec.Struct, kw_only=True):
    """Base of request messages; unknown fields are ignored, as MLflow does."""


# gc=False: see tracker.eventlog.events; these arrive by the thousand too.
class KeyValueIn(Message, gc=False):
    key: str | None = None
    value: str | None = None


class MetricIn(Message, gc=False):
    key: str | None = None
    value: float | None = None
    timestamp: Int64 | None = None
    step: Int64 = 0


class DatasetIn(Message):
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


class DatasetInputIn(Message):
    dataset: DatasetIn
    tags: list[KeyValueIn] = []


# Experiments --------------------------------------------------------------


class CreateExperiment(Message):
    name: str | None = None
    artifact_location: str | None = None
    tags: list[KeyValueIn] = []


class ExperimentRef(Message):
    experiment_id: str | None = None


class GetExperimentByName(Message):
    experiment_name: str | None = None


class UpdateExperiment(Message):
    experiment_id: str | None = None
    new_name: str | None = None


class SetExperimentTag(Message):
    experiment_id: str | None = None
    key: str | None = None
    value: str | None = None


class DeleteExperimentTag(Message):
    experiment_id: str | None = None
    key: str | None = None


class SearchExperiments(Message):
    max_results: Int64 | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = []
    view_type: str | Int64 | None = None


class SearchDatasets(Message):
    experiment_ids: list[str] = []


# Runs ---------------------------------------------------------------------


class RunRef(Message):
    run_id: str | None = None
    run_uuid: str | None = None


class CreateRun(Message):
    experiment_id: str | None = None
    user_id: str | None = None
    run_name: str | None = None
    start_time: Int64 | None = None
    tags: list[KeyValueIn] = []


class UpdateRun(RunRef):
    status: str | Int64 | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class LogMetric(RunRef):
    key: str | None = None
    value: float | None = None
    timestamp: Int64 | None = None
    step: Int64 = 0


class LogParam(RunRef):
    key: str | None = None
    value: str | None = None


class SetTag(RunRef):
    key: str | None = None
    value: str | None = None


class DeleteTag(RunRef):
    key: str | None = None


class LogBatch(RunRef):
    metrics: list[MetricIn] = []
    params: list[KeyValueIn] = []
    tags: list[KeyValueIn] = []


class LogInputs(RunRef):
    datasets: list[DatasetInputIn] = []


class SearchRuns(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    run_view_type: str | Int64 | None = None
    max_results: Int64 | None = None
    order_by: list[str] = []
    page_token: str | None = None


# Metrics ------------------------------------------------------------------


class GetMetricHistory(RunRef):
    metric_key: str | None = None
    max_results: Int64 | None = None
    page_token: str | None = None


class GetMetricHistoryBulkInterval(Message):
    run_ids: list[str] = []
    metric_key: str | None = None
    start_step: Int64 | None = None
    end_step: Int64 | None = None
    max_results: Int64 | None = None


# Logged models (MLflow 3) -------------------------------------------------


class CreateLoggedModel(Message):
    experiment_id: str | None = None
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValueIn] = []
    tags: list[KeyValueIn] = []


class FinalizeLoggedModel(Message):
    status: str | Int64 | None = None


class LoggedModelTags(Message):
    tags: list[KeyValueIn] = []


class LoggedModelParams(Message):
    params: list[KeyValueIn] = []


class LoggedModelOrder(Message):
    field_name: str | None = None
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    max_results: Int64 | None = None
    order_by: list[LoggedModelOrder] = []
    page_token: str | None = None


class ModelOutputIn(Message):
    model_id: str | None = None
    step: Int64 = 0


class LogOutputs(RunRef):
    models: list[ModelOutputIn] = []


class LogModel(RunRef):
    model_json: str | None = None


class GetLoggedModel(Message):
    allow_deleted: bool = False


# Artifacts ----------------------------------------------------------------


class ListArtifactsByPath(Message):
    path: str | None = None


class ListRunArtifacts(RunRef):
    path: str | None = None
    page_token: str | None = None


class CreateMultipartUpload(Message):
    path: str | None = None
    num_parts: Int64 | None = None


class PartIn(Message):
    part_number: Int64
    etag: str | None = None
    url: str | None = None


class CompleteMultipartUpload(Message):
    path: str | None = None
    upload_id: str | None = None
    parts: list[PartIn] = []


class AbortMultipartUpload(Message):
    path: str | None = None
    upload_id: str | None = None


class PresignedUrlRequest(Message):
    run_id: str | None = None
    path: str | None = None
    expiration: Int64 | None = None
