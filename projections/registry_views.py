"""The model registry's entities as MLflow's REST API spells them.

As in ``projections.views``, fields MLflow leaves out when unset default to
None or an empty list and are then left out of the JSON.  Note the two
spellings of aliases: a registered model lists ``{alias, version}`` pairs,
a version lists the plain names of its own aliases.
"""

import msgspec

from projections.views import KeyValue, View


class RegisteredModelAlias(View):
    alias: str
    version: str


class ModelVersion(View):
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    description: str
    source: str
    status: str
    run_link: str
    run_id: str | None = None
    user_id: str | None = None
    model_id: str | None = None
    tags: list[KeyValue] = msgspec.field(default_factory=list)
    aliases: list[str] = msgspec.field(default_factory=list)


class RegisteredModel(View):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    user_id: str | None = None
    description: str | None = None
    # The newest version in each stage that has one.
    latest_versions: list[ModelVersion] = msgspec.field(default_factory=list)
    tags: list[KeyValue] = msgspec.field(default_factory=list)
    aliases: list[RegisteredModelAlias] = msgspec.field(default_factory=list)
