"""Limits on the shape of a decoded request, checked before anything reads it.

MLflow's messages nest a few levels deep and hold short strings, except the
few fields that carry documents (a dataset's schema and profile, a logged
model's JSON).  Anything deeper, longer or larger, and any string holding
NUL (which no PostgreSQL text can), is refused here with MLflow's
INVALID_PARAMETER_VALUE, before the recursive key rewriting, the struct
conversion or a command spends time or memory on it.  Per-field rules (key
lengths, batch sizes, page sizes) stay with the commands and handlers that
own them.

A body that cannot break these limits skips the walk and is decoded straight
into its message (``tracker.http.request_parsing``); a field the message
does not know is then skipped unread, however deep it nests.
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


def check_request_shape(value: Any) -> bool:
    """Refuse a decoded JSON request that is too deep or holds too much.

    The same walk notes whether any object key holds an upper-case letter,
    so that a caller renaming lowerCamelCase keys can skip a second walk
    over the common, all snake_case request.

    Returns:
        Whether some object key holds an upper-case letter.

    Raises:
        InvalidParameter: naming the path of the offending field.
    """
    if not isinstance(value, dict | list):
        return False

    try:
        return _check(value, 1)
    except _Refusal as refusal:
        path = "".join(reversed(refusal.steps)).removeprefix(".")
        raise InvalidParameter(refusal.template.format(path=path)) from None


class _Refusal(Exception):
    """Unwinds the walk from a refused value, gathering its path on the way.

    Paths are only built for the one refused value, never for the many
    accepted ones.
    """

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template
        self.steps: list[str] = []


def _check(value: dict[Any, Any] | list[Any], depth: int) -> bool:
    if depth > MAX_JSON_DEPTH:
        nested = (
            f"The request nests deeper than {MAX_JSON_DEPTH} levels, at '{{path}}'."
        )
        raise _Refusal(nested)

    upper_case_key = False
    if isinstance(value, dict):
        for key, item in value.items():
            # islower() is also false for a key with no letters at all; such
            # a key only costs the caller a needless rename.
            if not upper_case_key and not (isinstance(key, str) and key.islower()):
                upper_case_key = True
            try:
                if isinstance(item, str):
                    _check_string(item, key)
                elif isinstance(item, dict | list):
                    upper_case_key = _check(item, depth + 1) or upper_case_key
            except _Refusal as refusal:
                refusal.steps.append(f".{key}")
                raise
        return upper_case_key

    if len(value) > MAX_LIST_ITEMS:
        too_many = (
            "Invalid value for parameter '{path}' supplied: it holds "
            f"{len(value)} items, more than the limit of {MAX_LIST_ITEMS}."
        )
        raise _Refusal(too_many)
    for index, item in enumerate(value):
        try:
            if isinstance(item, str):
                _check_string(item, "")
            elif isinstance(item, dict | list):
                upper_case_key = _check(item, depth + 1) or upper_case_key
        except _Refusal as refusal:
            refusal.steps.append(f"[{index}]")
            raise
    return upper_case_key


def _check_string(value: str, key: Any) -> None:
    # PostgreSQL text cannot hold NUL; refused here, it cannot reach a query
    # as an identifier and fail there as a server error.
    if "\x00" in value:
        nul = (
            "Invalid value for parameter '{path}' supplied: it contains a NUL "
            "(0x00) character."
        )
        raise _Refusal(nul)
    limit = MAX_DATASET_PROFILE_LENGTH if key in DOCUMENT_FIELDS else MAX_STRING_LENGTH
    if len(value) > limit:
        too_long = (
            f"Invalid value for parameter '{{path}}' supplied: it is {len(value)} "
            f"characters long, more than the limit of {limit}."
        )
        raise _Refusal(too_long)
