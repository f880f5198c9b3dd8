"""Limits on the shape of a decoded request, checked before anything reads it.

MLflow's messages nest a few levels deep and hold short strings, except the
few fields that carry documents (a dataset's schema and profile, a logged
model's JSON).  Anything deeper, longer or larger, and any string holding
NUL (which no PostgreSQL text can), is refused here with MLflow's
INVALID_PARAMETER_VALUE, before the recursive key rewriting, the struct
conversion or a command spends time or memory on it.  Per-field rules (key
lengths, batch sizes, page sizes) stay with the commands and handlers that
own them.
"""

from typing import Any

from tracker.commands.validation import MAX_DATASET_PROFILE_LENGTH
from tracker.errors import InvalidParameter

# The deepest message, a dataset input's tag, is five levels down.
MAX_JSON_DEPTH = 20
MAX_STRING_LENGTH = 1024 * 1024
MAX_LIST_ITEMS = 10_000
# Fields that hold documents, as MLflow's limits allow (the largest is a
# dataset profile, 16 MiB).
DOCUMENT_FIELDS = frozenset({"schema", "profile", "model_json", "modelJson"})


def check_request_shape(value: Any) -> None:
    """Refuse a decoded JSON request that is too deep or holds too much.

    Raises:
        InvalidParameter: naming the path of the offending field.
    """
    _check(value, "", 1)


def _check(value: Any, path: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        msg = f"The request nests deeper than {MAX_JSON_DEPTH} levels, at '{path}'."
        raise InvalidParameter(msg)

    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(item, str):
                _check_string(item, name, str(key))
            elif isinstance(item, dict | list):
                _check(item, name, depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            msg = (
                f"Invalid value for parameter '{path}' supplied: it holds "
                f"{len(value)} items, more than the limit of {MAX_LIST_ITEMS}."
            )
            raise InvalidParameter(msg)
        for index, item in enumerate(value):
            name = f"{path}[{index}]"
            if isinstance(item, str):
                _check_string(item, name, "")
            elif isinstance(item, dict | list):
                _check(item, name, depth + 1)


def _check_string(value: str, path: str, key: str) -> None:
    # PostgreSQL text cannot hold NUL; refused here, it cannot reach a query
    # as an identifier and fail there as a server error.
    if "\x00" in value:
        msg = (
            f"Invalid value for parameter '{path}' supplied: it contains a NUL "
            "(0x00) character."
        )
        raise InvalidParameter(msg)
    limit = MAX_DATASET_PROFILE_LENGTH if key in DOCUMENT_FIELDS else MAX_STRING_LENGTH
    if len(value) > limit:
        msg = (
            f"Invalid value for parameter '{path}' supplied: it is {len(value)} "
            f"characters long, more than the limit of {limit}."
        )
        raise InvalidParameter(msg)
