"""Logged-model search compiled to one PostgreSQL statement over the read models.

The statement selects the ``model_id`` of each active model of
``rm.logged_models`` that matches, in MLflow's order.  Every key and value is
a bind parameter; the text holds only the table, column and alias names below.

What each comparison means, as MLflow's SQL store has it:

* a metric compares the model's latest value of the key: the one at the
  highest step, then timestamp (then value, so ties resolve one way); a NaN
  value satisfies only ``!=``, as in run search;
* a comparison on a metric, param or tag needs the key to be there, and one
  on ``model_type`` or ``source_run_id`` needs the attribute to be set;
* ``LIKE`` and ``ILIKE`` have no escape character, as in ``run_query``.

Ordering: each order key in turn, with models lacking the key after the rest
in either direction and, for metrics, NaN after every number; then
``creation_time DESC`` unless a creation time was a key; then ``model_id``
unless it was a key.  Statuses sort in the order of MLflow's enumeration
(unspecified, pending, ready, failed), as its SQL store sorts them.
"""

from collections.abc import Sequence

from projections.search import sql
from projections.search.filters import Comparison, OrderKey
from projections.search.logged_model_filters import (
    parse_logged_model_filter,
    parse_logged_model_order,
)
from tracker.errors import InvalidParameter

_STRING_COLUMNS = {
    "name": "m.name",
    "model_id": "m.model_id",
    "model_type": "m.model_type",
    "source_run_id": "m.source_run_id",
    "status": "m.status",
}
_NUMERIC_COLUMNS = {
    "creation_timestamp": "m.creation_time",
    "last_updated_timestamp": "m.last_update_time",
}
_NULLABLE = frozenset({"model_type", "source_run_id"})
_KEYED_TABLES = {"param": "rm.logged_model_params", "tag": "rm.logged_model_tags"}
_STATUS_RANK = (
    "array_position(ARRAY['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING',"
    " 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'], m.status)"
)


def compile_logged_model_search(
    experiment_ids: Sequence[int],
    filter_text: str | None,
    order: Sequence[tuple[str, bool]],
    offset: int,
    limit: int,
) -> tuple[str, list[object]]:
    """Compile a logged-model search into one statement and its bind values.

    Args:
        experiment_ids: The experiments to search in.
        filter_text: The request's ``filter``; ``None`` or blank for all.
        order: The request's ``order_by`` as ``(field_name, ascending)``
            pairs; empty for MLflow's default.
        offset: How many matching models to skip.
        limit: How many model ids to return at most; callers pass one more
            than the page size to learn whether another page follows.

    Returns:
        The statement, selecting ``model_id``, and its values for ``$1``, ...

    Raises:
        InvalidParameter: The filter or an order field is one MLflow would
            refuse, or an argument is out of range.
    """
    comparisons = parse_logged_model_filter(filter_text)
    keys = parse_logged_model_order(order)

    bind = sql.Binds()
    joins, ordering = _order_by(keys, bind)
    experiments = bind(sql.experiment_ids(experiment_ids), "bigint[]")
    conditions = [
        f"m.experiment_id = ANY({experiments})",
        "m.lifecycle_stage = 'active'",
        *(_condition(comparison, bind) for comparison in comparisons),
    ]

    statement = "\n".join(
        [
            "SELECT m.model_id",
            "FROM rm.logged_models AS m",
            *joins,
            "WHERE " + "\n  AND ".join(conditions),
            "ORDER BY " + ",\n  ".join(ordering),
            f"OFFSET {bind(sql.count(offset, 'offset'), 'bigint')}",
            f"LIMIT {bind(sql.count(limit, 'limit'), 'bigint')}",
        ]
    )
    return statement, bind.values


def _condition(comparison: Comparison, bind: sql.Binds) -> str:
    entity, key, op = comparison.entity, comparison.key, comparison.op
    if entity == "attribute" and key in _NUMERIC_COLUMNS:
        operator = sql.numeric_operator(comparison)
        return f"{_NUMERIC_COLUMNS[key]} {operator} {sql.number(comparison, bind)}"
    if entity == "attribute" and key in _STRING_COLUMNS:
        return sql.string_test(_STRING_COLUMNS[key], comparison, bind)

    if entity in _KEYED_TABLES:
        keyed = (
            f"SELECT 1 FROM {_KEYED_TABLES[entity]} AS k"
            f" WHERE k.model_id = m.model_id AND k.key = {bind(key)}"
        )
        return f"EXISTS ({keyed} AND {sql.string_test('k.value', comparison, bind)})"

    if entity != "metric":
        raise InvalidParameter(
            f"Invalid {entity} key '{key}' for a logged model search"
        )

    # PostgreSQL ranks NaN above every number, so without the guard a NaN
    # would satisfy > and >=.  (MLflow's SQL store keeps a NaN as 0; the
    # read model keeps it as NaN, and treats it as run search does.)
    latest = _latest_metric(bind(key))
    operator = sql.numeric_operator(comparison)
    test = f"k.value {operator} {sql.number(comparison, bind)}"
    if op != "!=":
        test += " AND k.value <> 'NaN'"
    return f"EXISTS (SELECT 1 FROM ({latest}) AS k WHERE {test})"


def _latest_metric(key: str) -> str:
    """The latest value of metric ``key`` (a placeholder) for the outer model."""
    return (
        "SELECT lm.value FROM rm.logged_model_metrics AS lm"
        f" WHERE lm.model_id = m.model_id AND lm.key = {key}"
        " ORDER BY lm.step DESC, lm.timestamp DESC, lm.value DESC LIMIT 1"
    )


def _order_by(
    order: Sequence[OrderKey], bind: sql.Binds
) -> tuple[list[str], list[str]]:
    # model_id needs no collation: model ids are "m-" and lowercase hex, on
    # which every collation agrees.
    joins: list[str] = []
    terms: list[str] = []
    for index, key in enumerate(order, start=1):
        if key.entity == "metric":
            alias = f"o{index}"
            joins.append(
                f"LEFT JOIN LATERAL ({_latest_metric(bind(key.key))}) AS {alias}"
                " ON true"
            )
            value = f"{alias}.value"
            terms.append(
                f"CASE WHEN {value} IS NULL THEN 2"
                f" WHEN {value} = 'NaN' THEN 1 ELSE 0 END"
            )
        elif key.entity == "attribute" and key.key == "status":
            value = _STATUS_RANK
        elif key.entity == "attribute" and key.key in _NUMERIC_COLUMNS:
            value = _NUMERIC_COLUMNS[key.key]
        elif key.entity == "attribute" and key.key == "model_id":
            value = _STRING_COLUMNS[key.key]
        elif key.entity == "attribute" and key.key in _STRING_COLUMNS:
            value = _STRING_COLUMNS[key.key] + sql.BYTEWISE
            if key.key in _NULLABLE:
                terms.append(f"{_STRING_COLUMNS[key.key]} IS NULL")
        else:
            raise InvalidParameter(
                f"Invalid order_by key {key.entity} '{key.key}' for a logged model "
                "search"
            )

        terms.append(f"{value} {'ASC' if key.ascending else 'DESC'}")

    attributes = {k.key for k in order if k.entity == "attribute"}
    if "creation_timestamp" not in attributes:
        terms.append("m.creation_time DESC")
    if "model_id" not in attributes:
        terms.append("m.model_id")

    return joins, terms
