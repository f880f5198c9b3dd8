"""MLflow's limits and naming rules, checked before anything is appended.

The limits are MLflow's own (``mlflow/utils/validation.py``); clients split
their batches by the same numbers, so a stock client never trips them.
"""

import functools
import posixpath
import re
from collections import Counter

from tracker.errors import InvalidParameter
from tracker.eventlog.events import Metric, Param, Tag

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASETS_PER_BATCH = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65535
MAX_DATASET_SCHEMA_LENGTH = 1048575
MAX_DATASET_PROFILE_LENGTH = 16777215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

_KEY_PATTERN = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_PATTERN = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")


def require(value: str | None, name: str) -> str:
    if value is None or value == "":
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    return value


@functools.lru_cache(maxsize=4096)
def check_key(key: str, kind: str) -> None:
    """Check a metric, param or tag key against MLflow's naming rule.

    Cached: a batch repeats the same few keys across hundreds of points.
    """
    if not _KEY_PATTERN.match(key):
        msg = (
            f"Invalid {kind} name: '{key}'. Names may only contain alphanumerics, "
            "underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
            "slashes (/)."
        )
        raise InvalidParameter(msg)

    # A key is also a path under the run's folder in file-based tooling, so
    # MLflow refuses keys that would normalise to another path.
    if key and (
        posixpath.normpath(key) != key or key.startswith(("..", "/")) or key == "."
    ):
        msg = (
            f"Invalid {kind} name: '{key}'. Names cannot contain path traversal "
            "or be an absolute path."
        )
        raise InvalidParameter(msg)

    check_length(key, kind + " key", MAX_ENTITY_KEY_LENGTH)


def check_length(value: str, what: str, limit: int) -> None:
    if len(value) > limit:
        msg = f"'{what}' exceeds the maximum length of {limit} characters"
        raise InvalidParameter(msg)


def check_no_nul(value: str, what: str) -> None:
    if "\x00" in value:
        raise InvalidParameter(f"'{what}' cannot contain NUL (0x00) characters")


def truncated(value: str, limit: int) -> str:
    """Cut an over-long param or tag value, as MLflow does by default."""
    return value if len(value) <= limit else value[:limit]


def check_run_id(run_id: str) -> None:
    if not _RUN_ID_PATTERN.match(run_id):
        raise InvalidParameter(f"Invalid run ID: '{run_id}'")


def check_experiment_name(name: str | None) -> str:
    if name is None or not name.strip():
        msg = "Invalid experiment name: '{}'. Experiment name cannot be empty."
        raise InvalidParameter(msg.format(name or ""))
    check_length(name, "name", MAX_EXPERIMENT_NAME_LENGTH)
    check_no_nul(name, "name")
    return name


def check_metric(metric: Metric) -> None:
    check_key(metric.key, "metric")
    if not 0 <= metric.timestamp <= INT64_MAX:
        msg = (
            f"Got invalid timestamp {metric.timestamp} for metric '{metric.key}' "
            f"(value={metric.value}). Timestamp must be a nonnegative long "
            "(64-bit integer)"
        )
        raise InvalidParameter(msg)
    if not INT64_MIN <= metric.step <= INT64_MAX:
        msg = (
            f"Got invalid step {metric.step} for metric '{metric.key}' "
            f"(value={metric.value}). Step must be a valid long (64-bit integer)."
        )
        raise InvalidParameter(msg)


def checked_param(param: Param) -> Param:
    check_key(param.key, "param")
    check_no_nul(param.value, "param value")
    return Param(param.key, truncated(param.value, MAX_PARAM_VALUE_LENGTH))


def checked_run_tag(tag: Tag) -> Tag:
    check_key(tag.key, "tag")
    check_no_nul(tag.value, "tag value")
    return Tag(tag.key, truncated(tag.value, MAX_TAG_VALUE_LENGTH))


def check_experiment_tag(tag: Tag) -> None:
    check_key(tag.key, "tag")
    check_length(tag.key, "key", MAX_EXPERIMENT_TAG_KEY_LENGTH)
    check_length(tag.value, "value", MAX_EXPERIMENT_TAG_VALUE_LENGTH)
    check_no_nul(tag.value, "value")


def check_batch_sizes(metrics: int, params: int, tags: int) -> None:
    if metrics > MAX_METRICS_PER_BATCH:
        msg = (
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} "
            f"metrics. Got {metrics} metrics."
        )
        raise InvalidParameter(msg)
    if params > MAX_PARAMS_TAGS_PER_BATCH:
        msg = (
            f"A batch logging request can contain at most "
            f"{MAX_PARAMS_TAGS_PER_BATCH} params. Got {params} params."
        )
        raise InvalidParameter(msg)
    if tags > MAX_PARAMS_TAGS_PER_BATCH:
        msg = (
            f"A batch logging request can contain at most "
            f"{MAX_PARAMS_TAGS_PER_BATCH} tags. Got {tags} tags."
        )
        raise InvalidParameter(msg)
    if metrics + params + tags > MAX_ENTITIES_PER_BATCH:
        msg = (
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} "
            f"metrics, params, and tags in total. Got {metrics + params + tags}."
        )
        raise InvalidParameter(msg)


def check_unique_keys(keys: list[str], kind: str) -> None:
    duplicates = sorted(key for key, count in Counter(keys).items() if count > 1)
    if duplicates:
        msg = (
            f"Duplicate {kind} keys have been submitted: {duplicates}. Please "
            f"ensure the request contains only one {kind} value per key."
        )
        raise InvalidParameter(msg)
