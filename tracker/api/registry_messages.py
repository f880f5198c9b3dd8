"""MLflow's request messages for the model registry, as typed structs.

Field names follow MLflow's ``model_registry.proto``.  As in
``tracker.api.messages``, fields the proto marks required are optional here
so that a missing one gets MLflow's own message.  Versions are strings in
the protocol; a number is taken as well.
"""

import msgspec

from tracker.api.messages import Int64, KeyValueIn, Message


class CreateRegisteredModel(Message):
    name: str | None = None
    tags: list[KeyValueIn] = msgspec.field(default_factory=list)
    description: str | None = None
    deployment_job_id: str | None = None


class RegisteredModelRef(Message):
    name: str | None = None


class RenameRegisteredModel(Message):
    name: str | None = None
    new_name: str | None = None


class UpdateRegisteredModel(Message):
    name: str | None = None
    description: str | None = None
    deployment_job_id: str | None = None


class SearchRegistry(Message):
    """The request of both registry searches."""

    filter: str | None = None
    max_results: Int64 | None = None
    order_by: list[str] = msgspec.field(default_factory=list)
    page_token: str | None = None


class GetLatestVersions(Message):
    name: str | None = None
    stages: list[str] = msgspec.field(default_factory=list)


class SetRegisteredModelTag(Message):
    name: str | None = None
    key: str | None = None
    value: str | None = None


class DeleteRegisteredModelTag(Message):
    name: str | None = None
    key: str | None = None


class SetRegisteredModelAlias(Message):
    name: str | None = None
    alias: str | None = None
    version: str | Int64 | None = None


class RegisteredModelAliasRef(Message):
    name: str | None = None
    alias: str | None = None


class CreateModelVersion(Message):
    name: str | None = None
    source: str | None = None
    run_id: str | None = None
    tags: list[KeyValueIn] = msgspec.field(default_factory=list)
    run_link: str | None = None
    description: str | None = None
    model_id: str | None = None


class ModelVersionRef(Message):
    name: str | None = None
    version: str | Int64 | None = None


class UpdateModelVersion(ModelVersionRef):
    description: str | None = None


class TransitionModelVersionStage(ModelVersionRef):
    stage: str | None = None
    archive_existing_versions: bool = False


class SetModelVersionTag(ModelVersionRef):
    key: str | None = None
    value: str | None = None


class DeleteModelVersionTag(ModelVersionRef):
    key: str | None = None
