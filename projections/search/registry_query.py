"""Registry searches compiled to one PostgreSQL statement each over the read models.

A registered-model search selects the ``model_key`` of each match, a
model-version search the ``(model_key, version)`` pair, in MLflow's order.
Every key and value is a bind parameter; the text holds only the table,
column and alias names below.

What each comparison means, as MLflow's SQL store has it:

* a tag comparison needs the tag to be there, and a ``run_id`` comparison
  a run to be recorded;
* ``LIKE`` and ``ILIKE`` have no escape character, as in ``run_query``;
* prompts are registered models too, told apart by the tag
  ``mlflow.prompt.is_prompt = 'true'``.  Unless the filter asks for prompts
  (its first clause on that tag is ``= 'true'`` or ``!= 'false'``), clauses
  on the tag are dropped and prompts left out, so models without the tag
  match the stock client's ``tag.`mlflow.prompt.is_prompt` != 'true'``.
  A version counts as a prompt when any version of its model is tagged so.

Ordering: the order keys, then ``name`` ascending unless it was a key and,
for versions, ``version_number`` descending unless it was a key.  A version
search without keys orders by ``last_updated_timestamp DESC`` first.  Names
sort bytewise.
"""

from collections.abc import Sequence

from projections.search import sql
from projections.search.filters import Comparison, OrderKey
from projections.search.registry_filters import (
    parse_model_version_filter,
    parse_model_version_order,
    parse_registered_model_filter,
    parse_registered_model_order,
)
from tracker.errors import InvalidParameter

PROMPT_TAG = "mlflow.prompt.is_prompt"

_MODEL_COLUMNS = {
    "name": "m.name",
    "creation_timestamp": "m.creation_time",
    "last_updated_timestamp": "m.last_update_time",
}
_VERSION_STRING_COLUMNS = {
    "name": "m.name",
    "run_id": "v.run_id",
    "source_path": "v.source",
}
_VERSION_ORDER_COLUMNS = {
    "name": "m.name",
    "version_number": "v.version",
    "creation_timestamp": "v.creation_time",
    "last_updated_timestamp": "v.last_update_time",
}
_DEFAULT_VERSION_ORDER = (OrderKey("attribute", "last_updated_timestamp", False),)


def compile_registered_model_search(
    filter_text: str | None,
    order_by: Sequence[str],
    offset: int,
    limit: int,
) -> tuple[str, list[object]]:
    """Compile a registered-model search into one statement and its bind values.

    Args:
        filter_text: The request's ``filter``; ``None`` or blank for all.
        order_by: The request's ``order_by`` clauses; empty for by name.
        offset: How many matching models to skip.
        limit: How many keys to return at most; callers pass one more than
            the page size to learn whether another page follows.

    Returns:
        The statement, selecting ``model_key``, and its values for ``$1``, ...

    Raises:
        InvalidParameter: The filter or an order clause is one MLflow would
            refuse, or an argument is out of range.
    """
    comparisons, prompts = _prompt_scope(parse_registered_model_filter(filter_text))
    keys = parse_registered_model_order(order_by)

    bind = sql.Binds()
    conditions = [_model_condition(comparison, bind) for comparison in comparisons]
    conditions.append(_prompt_test("registered_model_tags", "m", prompts, bind))
    terms = [_term(_MODEL_COLUMNS, key) for key in keys]
    if not any(key.key == "name" for key in keys):
        terms.append("m.name" + sql.BYTEWISE)
    terms.append("m.model_key")

    statement = "\n".join(
        [
            "SELECT m.model_key",
            "FROM registry_rm.registered_models AS m",
            "WHERE " + "\n  AND ".join(conditions),
            "ORDER BY " + ", ".join(terms),
            f"OFFSET {bind(sql.count(offset, 'offset'), 'bigint')}",
            f"LIMIT {bind(sql.count(limit, 'limit'), 'bigint')}",
        ]
    )
    return statement, bind.values


def compile_model_version_search(
    filter_text: str | None,
    order_by: Sequence[str],
    offset: int,
    limit: int,
) -> tuple[str, list[object]]:
    """Compile a model-version search into one statement and its bind values.

    Args:
        filter_text: The request's ``filter``; ``None`` or blank for all.
        order_by: The request's ``order_by`` clauses; empty for MLflow's
            default, the most recently updated first.
        offset: How many matching versions to skip.
        limit: How many versions to return at most; callers pass one more
            than the page size to learn whether another page follows.

    Returns:
        The statement, selecting ``model_key`` and ``version``, and its
        values for ``$1``, ...

    Raises:
        InvalidParameter: The filter or an order clause is one MLflow would
            refuse, or an argument is out of range.
    """
    comparisons, prompts = _prompt_scope(parse_model_version_filter(filter_text))
    keys = parse_model_version_order(order_by) or list(_DEFAULT_VERSION_ORDER)

    bind = sql.Binds()
    conditions = [_version_condition(comparison, bind) for comparison in comparisons]
    conditions.append(_prompt_test("model_version_tags", "v", prompts, bind))
    terms = [_term(_VERSION_ORDER_COLUMNS, key) for key in keys]
    if not any(key.key == "name" for key in keys):
        terms.append("m.name" + sql.BYTEWISE)
    if not any(key.key == "version_number" for key in keys):
        terms.append("v.version DESC")
    terms.append("v.model_key")

    statement = "\n".join(
        [
            "SELECT v.model_key, v.version",
            "FROM registry_rm.model_versions AS v",
            "JOIN registry_rm.registered_models AS m USING (model_key)",
            "WHERE " + "\n  AND ".join(conditions),
            "ORDER BY " + ", ".join(terms),
            f"OFFSET {bind(sql.count(offset, 'offset'), 'bigint')}",
            f"LIMIT {bind(sql.count(limit, 'limit'), 'bigint')}",
        ]
    )
    return statement, bind.values


def _prompt_scope(comparisons: list[Comparison]) -> tuple[list[Comparison], bool]:
    """The comparisons to apply, and whether the search is for prompts."""
    on_prompt_tag = [c for c in comparisons if _is_prompt_clause(c)]
    if on_prompt_tag:
        first = on_prompt_tag[0]
        value = first.value.lower() if isinstance(first.value, str) else None
        if (first.op, value) in (("=", "true"), ("!=", "false")):
            return comparisons, True

    kept = [c for c in comparisons if not _is_prompt_clause(c)]

    return kept, False


def _is_prompt_clause(comparison: Comparison) -> bool:
    return comparison.entity == "tag" and comparison.key == PROMPT_TAG


def _prompt_test(tags_table: str, alias: str, prompts: bool, bind: sql.Binds) -> str:
    if prompts:
        return "true"

    tagged = (
        f"SELECT 1 FROM registry_rm.{tags_table} AS p"
        f" WHERE p.model_key = {alias}.model_key AND p.key = {bind(PROMPT_TAG)}"
        f" AND p.value = {bind('true')}"
    )
    return f"NOT EXISTS ({tagged})"


def _model_condition(comparison: Comparison, bind: sql.Binds) -> str:
    if comparison.entity == "tag":
        return _tag_test("registered_model_tags", "m", comparison, bind)
    if comparison.entity == "attribute" and comparison.key == "name":
        return sql.string_test("m.name", comparison, bind)

    raise InvalidParameter(
        f"Invalid {comparison.entity} key '{comparison.key}' for a registered "
        "model search"
    )


def _version_condition(comparison: Comparison, bind: sql.Binds) -> str:
    entity, key = comparison.entity, comparison.key
    if entity == "tag":
        return _tag_test("model_version_tags", "v", comparison, bind)
    if entity == "attribute" and key == "version_number":
        operator = sql.numeric_operator(comparison)
        return f"v.version {operator} {sql.number(comparison, bind)}"
    if entity == "attribute" and key in _VERSION_STRING_COLUMNS:
        return sql.string_test(_VERSION_STRING_COLUMNS[key], comparison, bind)

    raise InvalidParameter(f"Invalid {entity} key '{key}' for a model version search")


def _tag_test(
    tags_table: str, alias: str, comparison: Comparison, bind: sql.Binds
) -> str:
    keyed = (
        f"SELECT 1 FROM registry_rm.{tags_table} AS t"
        f" WHERE t.model_key = {alias}.model_key"
        + (" AND t.version = v.version" if alias == "v" else "")
        + f" AND t.key = {bind(comparison.key)}"
    )
    return f"EXISTS ({keyed} AND {sql.string_test('t.value', comparison, bind)})"


def _term(columns: dict[str, str], key: OrderKey) -> str:
    column = columns.get(key.key) if key.entity == "attribute" else None
    if column is None:
        raise InvalidParameter(f"Invalid order_by key {key.entity} '{key.key}'")

    collation = sql.BYTEWISE if key.key == "name" else ""
    return f"{column}{collation} {'ASC' if key.ascending else 'DESC'}"
