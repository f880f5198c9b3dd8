"""The run and experiment grammars of MLflow's search language.

``projections.search.syntax`` reads a filter or order_by clause into tokens;
the functions here check what the clauses name and compare, as MLflow's run
and experiment searches allow, and return them normalised.  Every rejection
is an ``InvalidParameter`` worded as MLflow words it.
"""

import functools
import re
from collections.abc import Sequence

import msgspec

from projections.search.clause_checks import (
    KEYED_STRING_OPS,
    LIST_TESTS,
    LISTABLE_STRING_OPS,
    NULL_TESTS,
    NUMERIC_OPS,
    Entity,
    Operator,
    numeric_value,
    operator,
    shown,
    split_target,
    string_list,
    string_value,
)
from projections.search.syntax import (
    INT64_MAX,
    INT64_MIN,
    Clause,
    Token,
    read_filter,
    read_order_item,
)
from tracker.errors import InvalidParameter

__all__ = [
    "Comparison",
    "Entity",
    "Operator",
    "OrderKey",
    "Value",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_run_filter",
    "parse_run_order_by",
]

Value = str | int | float | tuple[str, ...] | None


class Comparison(msgspec.Struct, frozen=True):
    """One clause of a filter, checked and normalised.

    ``key`` is canonical: attribute aliases such as ``created`` are already
    translated.  ``value`` is a ``str`` for string comparisons, a number for
    numeric ones, a tuple of strings for ``IN``/``NOT IN`` and ``None`` for
    ``IS NULL``/``IS NOT NULL``.
    """

    entity: Entity
    key: str
    op: Operator
    value: Value


class OrderKey(msgspec.Struct, frozen=True):
    """One order_by clause, checked and normalised."""

    entity: Entity
    key: str
    ascending: bool


def parse_run_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of a run search.

    Args:
        text: The filter string; ``None`` or blank matches every run.

    Returns:
        The comparisons the filter ANDs together, in the order written.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    if text is not None and len(text) <= _CACHED_FILTER_LENGTH:
        return list(_parsed_run_filter(text))
    return [_run_comparison(clause) for clause in read_filter(text)]


# A client paging through a search, or a UI refreshing one, sends the same
# filter again and again; parsing it is a tenth of the server's work per
# search.  Long filters are parsed each time, so the cache stays small.
_CACHED_FILTER_LENGTH = 1000


@functools.lru_cache(maxsize=256)
def _parsed_run_filter(text: str) -> tuple[Comparison, ...]:
    return tuple(_run_comparison(clause) for clause in read_filter(text))


def parse_experiment_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of an experiment search.

    Args:
        text: The filter string; ``None`` or blank matches every experiment.

    Returns:
        The comparisons the filter ANDs together, in the order written.
        ``experiment_id`` values stay strings, as MLflow parses them, but
        each is checked to be a 64-bit integer.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    return [_experiment_comparison(clause) for clause in read_filter(text)]


def parse_run_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of a run search.

    Args:
        items: Clauses such as ``"metrics.loss DESC"``; ``None`` for none.

    Returns:
        One key per clause, in the order given.

    Raises:
        InvalidParameter: A clause is malformed, names something runs cannot
            be ordered by, or repeats an earlier key.
    """
    keys: list[OrderKey] = []
    for item in items or ():
        target, ascending = read_order_item(item)
        entity, key = _run_target(target, _RUN_ORDER_ATTRIBUTES)
        if entity == "dataset":
            raise InvalidParameter(
                f"Invalid order_by entity type 'dataset' in '{item}'. Runs are "
                "ordered by metrics, params, tags or attributes"
            )

        order_key = OrderKey(entity, key, ascending)
        if any((k.entity, k.key) == (entity, key) for k in keys):
            raise InvalidParameter(f"`order_by` contains duplicate fields: {items}")
        keys.append(order_key)

    return keys


def parse_experiment_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of an experiment search.

    Args:
        items: Clauses such as ``"name ASC"``; ``None`` for none.

    Returns:
        One attribute key per clause, in the order given.

    Raises:
        InvalidParameter: A clause is malformed or names something other
            than ``name``, ``experiment_id``, ``creation_time`` or
            ``last_update_time``.
    """
    keys: list[OrderKey] = []
    for item in items or ():
        target, ascending = read_order_item(item)
        entity, key = _experiment_target(target)
        if entity != "attribute":
            raise InvalidParameter(f"Invalid order_by entity: {entity}")
        keys.append(OrderKey(entity, key, ascending))

    return keys


# What runs and experiments accept.

_RUN_ENTITIES: dict[str, Entity] = {
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
    "dataset": "dataset",
    "datasets": "dataset",
}
_RUN_STRING_ATTRIBUTES = frozenset(
    {"artifact_uri", "run_id", "run_name", "status", "user_id"}
)
_RUN_NUMERIC_ATTRIBUTES = frozenset({"end_time", "start_time"})
_RUN_ATTRIBUTES = _RUN_STRING_ATTRIBUTES | _RUN_NUMERIC_ATTRIBUTES
_RUN_ATTRIBUTE_ALIASES = {
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
    "created": "start_time",
    "Created": "start_time",
}
# MLflow takes the run-name aliases in filters only, not in order_by.
_RUN_FILTER_ATTRIBUTES = _RUN_ATTRIBUTES | frozenset(_RUN_ATTRIBUTE_ALIASES)
_RUN_ORDER_ATTRIBUTES = _RUN_ATTRIBUTES | {"created", "Created"}
_RUN_LIST_ATTRIBUTES = frozenset({"run_id"})
_DATASET_KEYS = frozenset({"name", "digest", "context"})

_EXPERIMENT_ENTITIES: dict[str, Entity] = {
    "attribute": "attribute",
    "attributes": "attribute",
    "tag": "tag",
    "tags": "tag",
}
_EXPERIMENT_NUMERIC_ATTRIBUTES = frozenset({"creation_time", "last_update_time"})
_EXPERIMENT_ATTRIBUTES = _EXPERIMENT_NUMERIC_ATTRIBUTES | {"name", "experiment_id"}
_EXPERIMENT_ID_OPS: frozenset[Operator] = frozenset({"=", "!=", "IN", "NOT IN"})
_EXPERIMENT_ID = re.compile(r"[-+]?[0-9]{1,19}")


def _run_comparison(clause: Clause) -> Comparison:
    entity, key = _run_target(clause.target, _RUN_FILTER_ATTRIBUTES)
    if clause.comparator in NULL_TESTS and entity not in ("param", "tag"):
        raise InvalidParameter(
            "IS NULL / IS NOT NULL is only supported for tags and params, not for "
            f"'{entity}' '{key}'"
        )

    if entity == "metric":
        op = operator(clause, NUMERIC_OPS)
        number = numeric_value(
            clause, f"Expected numeric value type for metric. Found {shown(clause)}"
        )
        return Comparison(entity, key, op, float(number))

    if entity in ("param", "tag"):
        op = operator(clause, KEYED_STRING_OPS | NULL_TESTS)
        if op in NULL_TESTS:
            return Comparison(entity, key, op, None)
        noun = "parameter" if entity == "param" else "tag"
        return Comparison(entity, key, op, string_value(clause, noun))

    if entity == "attribute" and key in _RUN_NUMERIC_ATTRIBUTES:
        op = operator(clause, NUMERIC_OPS)
        number = numeric_value(
            clause,
            f"Expected numeric value type for numeric attribute: {key}. "
            f"Found {shown(clause)}",
        )
        return Comparison(entity, key, op, number)

    op = operator(clause, LISTABLE_STRING_OPS)
    if op not in LIST_TESTS:
        noun = "attributes" if entity == "attribute" else "dataset attributes"
        return Comparison(entity, key, op, string_value(clause, noun))
    if entity == "attribute" and key not in _RUN_LIST_ATTRIBUTES:
        raise InvalidParameter(
            f"Only {sorted(_RUN_LIST_ATTRIBUTES)} attributes support comparison "
            "with a list of quoted string values."
        )
    return Comparison(entity, key, op, string_list(clause))


def _run_target(token: Token, attributes: frozenset[str]) -> tuple[Entity, str]:
    entity, key = split_target(
        token,
        _RUN_ENTITIES,
        attributes,
        valid_entities="values are ['metric', 'parameter', 'tag', 'attribute', "
        "'dataset']",
    )

    if entity == "attribute":
        key = _RUN_ATTRIBUTE_ALIASES.get(key, key)
    elif entity == "dataset" and key not in _DATASET_KEYS:
        raise InvalidParameter(
            f"Invalid dataset key '{key}' specified. Valid keys are "
            f"{sorted(_DATASET_KEYS)}"
        )

    return entity, key


def _experiment_comparison(clause: Clause) -> Comparison:
    entity, key = _experiment_target(clause.target)
    if entity == "tag":
        op = operator(clause, KEYED_STRING_OPS | NULL_TESTS)
        if op in NULL_TESTS:
            return Comparison(entity, key, op, None)
        return Comparison(entity, key, op, string_value(clause, "tag"))

    if clause.comparator in NULL_TESTS:
        raise InvalidParameter(
            "IS NULL / IS NOT NULL is only supported for tags, not for attribute "
            f"'{key}'"
        )

    if key in _EXPERIMENT_NUMERIC_ATTRIBUTES:
        return _experiment_time_comparison(clause, key)

    op = operator(clause, LISTABLE_STRING_OPS)
    if op in LIST_TESTS and key != "experiment_id":
        raise InvalidParameter(
            "Only ['experiment_id'] attributes support comparison with a list of "
            "quoted string values."
        )
    if key == "name":
        return Comparison(entity, key, op, string_value(clause, "attributes"))

    if op not in _EXPERIMENT_ID_OPS:
        raise InvalidParameter(f"Invalid comparator for experiment_id: {op}")
    if op in LIST_TESTS:
        ids = string_list(clause)
        for experiment_id in ids:
            _check_experiment_id(experiment_id)
        return Comparison(entity, key, op, ids)
    experiment_id = string_value(clause, "attributes")
    _check_experiment_id(experiment_id)
    return Comparison(entity, key, op, experiment_id)


def _experiment_time_comparison(clause: Clause, key: str) -> Comparison:
    op = operator(clause, NUMERIC_OPS)
    number = numeric_value(
        clause,
        f"Expected numeric value type for numeric attribute: {key}. "
        f"Found {shown(clause)}",
    )
    # MLflow's SQL store takes whole milliseconds only.
    if isinstance(number, float):
        raise InvalidParameter(
            f"Invalid value for numeric attribute '{key}': '{shown(clause)}'"
        )
    return Comparison("attribute", key, op, number)


def _experiment_target(token: Token) -> tuple[Entity, str]:
    return split_target(
        token,
        _EXPERIMENT_ENTITIES,
        _EXPERIMENT_ATTRIBUTES,
        valid_entities="entity types are ('attribute', 'attributes', 'tag', 'tags')",
    )


def _check_experiment_id(text: str) -> None:
    if _EXPERIMENT_ID.fullmatch(text) and INT64_MIN <= int(text) <= INT64_MAX:
        return
    raise InvalidParameter(
        f"Invalid experiment ID '{text}'. Experiment ID must be a valid integer."
    )
