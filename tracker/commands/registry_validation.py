"""MLflow's rules for registry names, versions, stages, aliases and tags.

The rules and limits are those of MLflow's registry store
(``mlflow/utils/validation.py``, ``model_version_stages.py``); messages say
what MLflow says, in substance.
"""

import json
import posixpath
import re

from tracker.commands import validation
from tracker.errors import InvalidParameter
from tracker.eventlog.events import Tag

MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
STAGES = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
# The stages a transition may archive the other versions of.
ACTIVE_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)
LATEST = "latest"

_CANONICAL_STAGES = {stage.lower(): stage for stage in STAGES}
_ALIAS = re.compile(r"[\w\-]*")
_VERSION_ALIAS = re.compile(r"[vV]\d+")
_VERSION = re.compile(r"\s*[-+]?\d+\s*")
_MAX_VERSION = 2**63 - 1


def check_model_name(name: str | None, field: str = "name") -> str:
    """Check a registered model's name and return it.

    Raises:
        InvalidParameter: The name is missing or blank, holds ``/`` or
            ``:``, or would name another path once normalised.
    """
    if name is None or not name.strip():
        raise InvalidParameter(f"Missing value for required parameter '{field}'.")
    if "/" in name or ":" in name:
        raise InvalidParameter(
            f"Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )
    validation.check_no_nul(name, field)

    normalised = posixpath.normpath(name)
    if normalised != name or normalised == "." or normalised.startswith(".."):
        raise InvalidParameter(
            f"Invalid value {json.dumps(name)} for parameter '{field}' supplied: "
            "Names may be treated as files in certain cases, and must not resolve "
            f"to other names when treated as such. This name would resolve to "
            f"{normalised!r}"
        )

    return name


def parse_version(raw: str | int | None) -> int:
    """Turn MLflow's string version into its number.

    Raises:
        InvalidParameter: The version is missing or not a whole number.
    """
    if raw is None or raw == "":
        raise InvalidParameter("Missing value for required parameter 'version'.")
    text = str(raw)
    if not _VERSION.fullmatch(text) or abs(int(text)) > _MAX_VERSION:
        raise InvalidParameter(f"Parameter 'version' must be an integer, got '{raw}'.")

    return int(text)


def canonical_stage(stage: str | None) -> str:
    """MLflow's spelling of a stage given in any case.

    Raises:
        InvalidParameter: The stage is none of MLflow's four.
    """
    if stage is None:
        raise InvalidParameter("Missing value for required parameter 'stage'.")
    canonical = _CANONICAL_STAGES.get(stage.lower())
    if canonical is None:
        raise InvalidParameter(
            f"Invalid Model Version stage: {stage}. Value must be one of "
            f"{', '.join(STAGES)}."
        )

    return canonical


def check_archiving(stage: str, archive_existing_versions: bool) -> None:
    """Archiving the other versions is for transitions into an active stage."""
    if archive_existing_versions and stage not in ACTIVE_STAGES:
        raise InvalidParameter(
            "Model version transition cannot archive existing model versions "
            f"because '{stage}' is not an Active stage. Valid stages are "
            f"{list(ACTIVE_STAGES)}"
        )


def check_alias(alias: str | None) -> str:
    """Check an alias's spelling and return it.

    Raises:
        InvalidParameter: The alias is empty, too long or holds characters
            other than letters, digits, ``_`` and ``-``.
    """
    if not alias:
        raise InvalidParameter("Registered model alias name cannot be empty.")
    if not _ALIAS.fullmatch(alias):
        raise InvalidParameter(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    validation.check_length(alias, "Registered model alias name", MAX_ALIAS_LENGTH)

    return alias


def check_alias_not_reserved(alias: str) -> None:
    """``latest`` and ``v<digits>`` already mean something in ``models:/`` URIs."""
    if alias.lower() == LATEST:
        raise InvalidParameter("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.fullmatch(alias):
        raise InvalidParameter(f"Version alias name '{alias}' is reserved.")


def check_tag(tag: Tag) -> None:
    """Check a registered model's or a version's tag.

    Raises:
        InvalidParameter: The key breaks MLflow's naming rule, or the key or
            value is too long.
    """
    validation.check_key(tag.key, "tag")
    validation.check_length(tag.key, "key", MAX_REGISTRY_TAG_KEY_LENGTH)
    validation.check_length(tag.value, "value", MAX_REGISTRY_TAG_VALUE_LENGTH)
    validation.check_no_nul(tag.value, "value")


def check_text(value: str, field: str) -> str:
    """Check a free-text field, such as a description, can be stored."""
    validation.check_no_nul(value, field)
    return value
