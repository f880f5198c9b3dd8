"""The logged-model grammar of MLflow 3's search language.

A logged-model filter has the syntax of a run filter (``syntax``) and its
own vocabulary, as MLflow's ``SearchLoggedModelsUtils`` has it:

* ``name``, ``model_id``, ``model_type`` and ``source_run_id`` compare as
  strings, lists (``IN``, ``NOT IN``) included;
* ``status`` compares with ``=``, ``!=``, ``IN`` and ``NOT IN`` only, as
  MLflow's SQL store takes it, and in MLflow's spelling (``READY``) or the
  API's (``LOGGED_MODEL_READY``) alike;
* the times ``creation_timestamp`` (or ``creation_time``) and
  ``last_updated_timestamp`` (or ``last_updated_time``) compare as numbers;
* ``metrics.<key>`` compares as a number, ``params.<key>`` and
  ``tags.<key>`` as strings with ``=``, ``!=``, ``LIKE`` and ``ILIKE``;
* there is no ``IS NULL``, no dataset entity and, as everywhere, no ``OR``.
"""

from collections.abc import Sequence

from projections.search.clause_checks import (
    KEYED_STRING_OPS,
    LIST_TESTS,
    LISTABLE_STRING_OPS,
    NUMERIC_OPS,
    Operator,
    numeric_value,
    operator,
    shown,
    split_target,
    string_list,
    string_value,
)
from projections.search.filters import Comparison, Entity, OrderKey
from projections.search.syntax import Clause, Token, read_filter
from tracker.errors import InvalidParameter

_ENTITIES: dict[str, Entity] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
_STRING_ATTRIBUTES = frozenset(
    {"name", "model_id", "model_type", "source_run_id", "status"}
)
# Each spelling of a time, and the one name comparisons carry.
_TIME_ATTRIBUTES = {
    "creation_timestamp": "creation_timestamp",
    "creation_time": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "last_updated_time": "last_updated_timestamp",
}
_ATTRIBUTES = _STRING_ATTRIBUTES | frozenset(_TIME_ATTRIBUTES)

# Each spelling of a status, and the API's name for it, which the read
# model stores.
_STATUSES = {
    "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY": "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
}
_STATUS_OPS: frozenset[Operator] = frozenset({"=", "!=", "IN", "NOT IN"})


def parse_logged_model_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of a logged-model search.

    Args:
        text: The filter string; ``None`` or blank matches every model.

    Returns:
        The comparisons the filter ANDs together, in the order written.
        Times carry the names ``creation_timestamp`` and
        ``last_updated_timestamp``, whichever spelling was used, and a
        status the API's name, such as ``LOGGED_MODEL_READY``.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    return [_comparison(clause) for clause in read_filter(text)]


def parse_logged_model_order(items: Sequence[tuple[str, bool]]) -> list[OrderKey]:
    """Parse the ``order_by`` fields of a logged-model search.

    Args:
        items: ``(field_name, ascending)`` pairs, such as
            ``("metrics.accuracy", False)`` or ``("creation_time", True)``.

    Returns:
        One key per field, in the order given: a metric key, or an attribute
        named as in ``parse_logged_model_filter``.

    Raises:
        InvalidParameter: A field name is missing, names an entity other
            than ``metrics`` or an attribute models do not have.
    """
    keys: list[OrderKey] = []
    for field_name, ascending in items:
        if not field_name:
            raise InvalidParameter(
                "`field_name` in the `order_by` clause must be specified."
            )

        if "." in field_name:
            entity, key = field_name.split(".", 1)
            if entity != "metrics":
                raise InvalidParameter(
                    f"Invalid order by field name: {entity}, only `metrics.<name>` "
                    "is allowed."
                )
            keys.append(OrderKey("metric", key, ascending))
            continue

        attribute = field_name.strip()
        if attribute not in _ATTRIBUTES:
            raise InvalidParameter(f"Invalid order by field name: {field_name}.")
        canonical = _TIME_ATTRIBUTES.get(attribute, attribute)
        keys.append(OrderKey("attribute", canonical, ascending))

    return keys


def _comparison(clause: Clause) -> Comparison:
    entity, key = _target(clause.target)
    if entity == "metric":
        op = operator(clause, NUMERIC_OPS)
        number = numeric_value(
            clause, f"Expected numeric value type for metric. Found {shown(clause)}"
        )
        return Comparison(entity, key, op, float(number))

    if entity in ("param", "tag"):
        op = operator(clause, KEYED_STRING_OPS)
        noun = "parameter" if entity == "param" else "tag"
        return Comparison(entity, key, op, string_value(clause, noun))

    if key in _TIME_ATTRIBUTES:
        op = operator(clause, NUMERIC_OPS)
        number = numeric_value(
            clause,
            f"Expected numeric value type for numeric attribute: {key}. "
            f"Found {shown(clause)}",
        )
        return Comparison(entity, _TIME_ATTRIBUTES[key], op, number)

    if key == "status":
        return _status_comparison(clause)

    op = operator(clause, LISTABLE_STRING_OPS)
    if op in LIST_TESTS:
        return Comparison(entity, key, op, string_list(clause))
    return Comparison(entity, key, op, string_value(clause, "attributes"))


def _status_comparison(clause: Clause) -> Comparison:
    op = operator(clause, _STATUS_OPS)
    if op in LIST_TESTS:
        statuses = tuple(_status(text) for text in string_list(clause))
        return Comparison("attribute", "status", op, statuses)
    return Comparison(
        "attribute", "status", op, _status(string_value(clause, "attributes"))
    )


def _status(text: str) -> str:
    status = _STATUSES.get(text)
    if status is None:
        raise InvalidParameter(
            f"Unknown model status in filter: '{text}'. Valid values are "
            f"{sorted(_STATUSES)}"
        )
    return status


def _target(token: Token) -> tuple[Entity, str]:
    return split_target(
        token,
        _ENTITIES,
        _ATTRIBUTES,
        valid_entities="values are ['metric', 'parameter', 'tag', 'attribute']",
    )
