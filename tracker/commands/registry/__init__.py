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

from tracker.commands.registry.aliases import (
    delete_registered_model_alias,
    set_registered_model_alias,
)
from tracker.commands.registry.model_lock import (
    STREAM_TYPE,
    LockedModel,
    VersionIn,
    VersionRef,
    lock_registered_model,
    registered_model_stream,
)
from tracker.commands.registry.model_versions import (
    MODEL_VERSIONS_TAG,
    create_model_version,
    delete_model_version,
    delete_model_version_tag,
    set_model_version_tag,
    transition_model_version_stage,
    update_model_version,
)
from tracker.commands.registry.registered_models import (
    create_registered_model,
    delete_registered_model,
    delete_registered_model_tag,
    rename_registered_model,
    set_registered_model_tag,
    update_registered_model,
)

__all__ = [
    "MODEL_VERSIONS_TAG",
    "STREAM_TYPE",
    "LockedModel",
    "VersionIn",
    "VersionRef",
    "create_model_version",
    "create_registered_model",
    "delete_model_version",
    "delete_model_version_tag",
    "delete_registered_model",
    "delete_registered_model_alias",
    "delete_registered_model_tag",
    "lock_registered_model",
    "registered_model_stream",
    "rename_registered_model",
    "set_model_version_tag",
    "set_registered_model_alias",
    "set_registered_model_tag",
    "transition_model_version_stage",
    "update_model_version",
    "update_registered_model",
]
