"""The registry grammars of MLflow's search language.

Registry filters have the syntax of every search (``syntax``) and a small
vocabulary, as MLflow's SQL store takes it:

* registered models: the attribute ``name`` (``=``, ``!=``, ``LIKE``,
  ``ILIKE``, ``IN``, ``NOT IN``) and ``tags.<key>`` (``=``, ``!=``,
  ``LIKE``, ``ILIKE``);
* model versions: the attributes ``name`` and ``run_id`` (as ``name``
  above), ``source_path`` (no lists), the number ``version_number`` and
  ``tags.<key>`` (as above);
* the entity prefixes ``attribute``, ``tag`` and ``tags`` only, no
  ``IS NULL`` and, as everywhere, no ``OR``.

Order keys are ``name``, ``creation_timestamp`` and
``last_updated_timestamp`` for both, plus ``version_number`` for versions
and ``timestamp`` for models, which MLflow's SQL store takes as the
last-update time.
"""

from collections.abc import Sequence

from projections.search.clause_checks import (
    KEYED_STRING_OPS,
    LIST_TESTS,
    LISTABLE_STRING_OPS,
    NULL_TESTS,
    NUMERIC_OPS,
    operator,
    shown,
    split_identifier,
    split_target,
    string_list,
    string_value,
)
from projections.search.filters import Comparison, Entity, OrderKey
from projections.search.syntax import Clause, Kind, Token, read_filter, read_order_item
from tracker.errors import InvalidParameter

_ENTITIES: dict[str, Entity] = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
_ORDER_PREFIXES = frozenset({"attribute", "attributes"})

_MODEL_ATTRIBUTES = frozenset({"name"})
_MODEL_ORDER_KEYS = {
    "name": "name",
    "creation_timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
    "timestamp": "last_updated_timestamp",
}

_VERSION_STRING_ATTRIBUTES = frozenset({"name", "run_id", "source_path"})
_VERSION_LIST_ATTRIBUTES = frozenset({"name", "run_id"})
_VERSION_NUMERIC_ATTRIBUTES = frozenset({"version_number"})
_VERSION_ATTRIBUTES = _VERSION_STRING_ATTRIBUTES | _VERSION_NUMERIC_ATTRIBUTES
_VERSION_ORDER_KEYS = {
    key: key
    for key in (
        "name",
        "version_number",
        "creation_timestamp",
        "last_updated_timestamp",
    )
}


def parse_registered_model_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of a registered-model search.

    Args:
        text: The filter string; ``None`` or blank matches every model.

    Returns:
        The comparisons the filter ANDs together, in the order written.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    comparisons: list[Comparison] = []
    for clause in read_filter(text):
        entity, key = _target(clause, _MODEL_ATTRIBUTES, "registered model")
        if entity == "tag":
            comparisons.append(_tag_comparison(clause, key))
        else:
            comparisons.append(_string_comparison(clause, key, listable=True))

    return comparisons


def parse_model_version_filter(text: str | None) -> list[Comparison]:
    """Parse the ``filter`` of a model-version search.

    Args:
        text: The filter string; ``None`` or blank matches every version.

    Returns:
        The comparisons the filter ANDs together, in the order written;
        ``version_number`` compares with an ``int``.

    Raises:
        InvalidParameter: The filter is malformed or compares something
            MLflow does not allow.
    """
    comparisons: list[Comparison] = []
    for clause in read_filter(text):
        entity, key = _target(clause, _VERSION_ATTRIBUTES, "model version")
        if entity == "tag":
            comparisons.append(_tag_comparison(clause, key))
        elif key in _VERSION_NUMERIC_ATTRIBUTES:
            comparisons.append(_version_number_comparison(clause, key))
        else:
            _refuse_number(clause)
            listable = key in _VERSION_LIST_ATTRIBUTES
            comparisons.append(_string_comparison(clause, key, listable=listable))

    return comparisons


def parse_registered_model_order(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of a registered-model search.

    Returns:
        One attribute key per clause, ``timestamp`` given as
        ``last_updated_timestamp``.

    Raises:
        InvalidParameter: A clause is malformed, names another key, or
            repeats an earlier one.
    """
    return _order_keys(items, _MODEL_ORDER_KEYS)


def parse_model_version_order(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse the ``order_by`` list of a model-version search.

    Raises:
        InvalidParameter: A clause is malformed, names another key, or
            repeats an earlier one.
    """
    return _order_keys(items, _VERSION_ORDER_KEYS)


def _target(
    clause: Clause, attributes: frozenset[str], searched: str
) -> tuple[Entity, str]:
    entity, key = split_target(
        clause.target,
        _ENTITIES,
        attributes,
        valid_entities="entity types are ('attribute', 'tag', 'tags')",
    )
    if clause.comparator in NULL_TESTS:
        raise InvalidParameter(
            f"IS NULL / IS NOT NULL is not supported for {searched} search."
        )

    return entity, key


def _tag_comparison(clause: Clause, key: str) -> Comparison:
    op = operator(clause, KEYED_STRING_OPS)
    return Comparison("tag", key, op, string_value(clause, "tag"))


def _refuse_number(clause: Clause) -> None:
    if isinstance(clause.operand, Token) and clause.operand.kind is Kind.NUMBER:
        raise InvalidParameter(
            f"Only the {sorted(_VERSION_NUMERIC_ATTRIBUTES)} attributes support "
            "comparison with numeric values."
        )


def _string_comparison(clause: Clause, key: str, *, listable: bool) -> Comparison:
    op = operator(clause, LISTABLE_STRING_OPS)
    if op not in LIST_TESTS:
        return Comparison("attribute", key, op, string_value(clause, "attributes"))
    if not listable:
        raise InvalidParameter(
            f"Only {sorted(_VERSION_LIST_ATTRIBUTES)} attributes support comparison "
            "with a list of quoted string values."
        )

    return Comparison("attribute", key, op, string_list(clause))


def _version_number_comparison(clause: Clause, key: str) -> Comparison:
    op = operator(clause, NUMERIC_OPS)
    operand = clause.operand
    number: int | float | str | None = None
    if isinstance(operand, Token) and operand.kind is Kind.NUMBER:
        number = operand.number
    elif isinstance(operand, Token):
        number = operand.quoted_string

    # MLflow's SQL store takes a quoted whole number as well as a bare one.
    if isinstance(number, str) and number.strip().lstrip("-").isdigit():
        number = int(number)
    if not isinstance(number, int):
        raise InvalidParameter(
            f"Invalid value for numeric attribute '{key}': '{shown(clause)}'"
        )

    return Comparison("attribute", key, op, number)


def _order_keys(items: Sequence[str] | None, known: dict[str, str]) -> list[OrderKey]:
    keys: list[OrderKey] = []
    for item in items or ():
        target, ascending = read_order_item(item)
        prefix, key = split_identifier(target)
        canonical = known.get(key) if prefix in (None, *_ORDER_PREFIXES) else None
        if canonical is None:
            raise InvalidParameter(
                f"Invalid order by key '{target.raw}' specified. Valid keys are "
                f"{sorted(known)}"
            )
        if any(existing.key == canonical for existing in keys):
            raise InvalidParameter(f"`order_by` contains duplicate fields: {items}")
        keys.append(OrderKey("attribute", canonical, ascending))

    return keys
