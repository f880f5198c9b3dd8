"""Experiment search compiled to one PostgreSQL statement over the read models.

The statement selects the ``experiment_id`` of each matching experiment of
``rm.experiments`` in MLflow's order.  Every key and value is a bind parameter;
the text holds only the table, column and alias names below.

MLflow's filter grammar carries ``experiment_id`` values as strings; the
parser has checked each is a 64-bit integer, and here they compare as
bigint.  A tag comparison other than ``IS NULL`` needs the tag to be there.
``LIKE`` and ``ILIKE`` have no escape character, as in ``run_query``.

Ordering: the order keys, or ``creation_time DESC, experiment_id ASC`` when
there are none.  When keys are given without ``experiment_id``, MLflow breaks
ties by ``experiment_id`` descending, and so does this.
"""

import re
from collections.abc import Sequence

from projections.search import sql
from projections.search.filters import Comparison, OrderKey
from projections.search.syntax import INT64_MAX, INT64_MIN
from tracker.errors import InvalidParameter

_COLUMNS = {
    "name": "e.name",
    "experiment_id": "e.experiment_id",
    "creation_time": "e.creation_time",
    "last_update_time": "e.last_update_time",
}
_ID_TESTS = {"=": "{} = {}", "!=": "{} <> {}", **sql.LIST_TESTS}
_DEFAULT_ORDER = ("e.creation_time DESC", "e.experiment_id ASC")

_EXPERIMENT_ID = re.compile(r"[-+]?[0-9]{1,19}")


def compile_experiment_search(
    view_type: str,
    filters: Sequence[Comparison],
    order: Sequence[OrderKey],
    offset: int,
    limit: int,
) -> tuple[str, list[object]]:
    """Compile an experiment search into one statement and its bind values.

    Args:
        view_type: ``"ACTIVE_ONLY"``, ``"DELETED_ONLY"`` or ``"ALL"``.
        filters: Comparisons from ``parse_experiment_filter``, all to hold.
        order: Keys from ``parse_experiment_order_by``; empty for MLflow's
            default.
        offset: How many matching experiments to skip.
        limit: How many ids to return at most; callers pass one more than
            the page size to learn whether another page follows.

    Returns:
        The statement, selecting ``experiment_id``, and its values for
        ``$1``, ...

    Raises:
        InvalidParameter: An argument is out of range, or a comparison or key
            is one the parser would not have produced.
    """
    stages = sql.stages(view_type, "view_type")

    bind = sql.Binds()
    conditions = [
        f"e.lifecycle_stage = ANY({bind(stages, 'text[]')})",
        *(_condition(comparison, bind) for comparison in filters),
    ]

    statement = "\n".join(
        [
            "SELECT e.experiment_id",
            "FROM rm.experiments AS e",
            "WHERE " + "\n  AND ".join(conditions),
            "ORDER BY " + ", ".join(_order_by(order)),
            f"OFFSET {bind(sql.count(offset, 'offset'), 'bigint')}",
            f"LIMIT {bind(sql.count(limit, 'limit'), 'bigint')}",
        ]
    )
    return statement, bind.values


def _condition(comparison: Comparison, bind: sql.Binds) -> str:
    entity, key, op, value = (
        comparison.entity,
        comparison.key,
        comparison.op,
        comparison.value,
    )
    if entity == "tag":
        return _tag_condition(comparison, bind)
    if entity != "attribute" or key not in _COLUMNS:
        raise InvalidParameter(f"Invalid {entity} key '{key}' for an experiment search")

    column = _COLUMNS[key]
    if key == "name" and op in sql.STRING_TESTS and isinstance(value, str):
        return sql.STRING_TESTS[op].format(column, bind(value))
    if key == "experiment_id" and op in _ID_TESTS:
        return _ID_TESTS[op].format(column, _experiment_ids(comparison, bind))
    if key != "name" and key != "experiment_id" and op in sql.NUMERIC_TESTS:
        return f"{column} {sql.NUMERIC_TESTS[op]} {sql.number(comparison, bind)}"
    raise sql.unfit(comparison)


def _tag_condition(comparison: Comparison, bind: sql.Binds) -> str:
    tag = (
        "SELECT 1 FROM rm.experiment_tags AS t"
        f" WHERE t.experiment_id = e.experiment_id AND t.key = {bind(comparison.key)}"
    )
    op, value = comparison.op, comparison.value
    if op == "IS NULL":
        return f"NOT EXISTS ({tag})"
    if op == "IS NOT NULL":
        return f"EXISTS ({tag})"
    if op in sql.STRING_TESTS and isinstance(value, str):
        test = sql.STRING_TESTS[op].format("t.value", bind(value))
        return f"EXISTS ({tag} AND {test})"
    raise sql.unfit(comparison)


def _experiment_ids(comparison: Comparison, bind: sql.Binds) -> str:
    value = comparison.value
    if comparison.op in ("IN", "NOT IN") and isinstance(value, tuple):
        return bind([_experiment_id(comparison, text) for text in value], "bigint[]")
    if comparison.op in ("=", "!=") and isinstance(value, str):
        return bind(_experiment_id(comparison, value), "bigint")
    raise sql.unfit(comparison)


def _experiment_id(comparison: Comparison, text: object) -> int:
    if isinstance(text, str) and _EXPERIMENT_ID.fullmatch(text):
        experiment_id = int(text)
        if INT64_MIN <= experiment_id <= INT64_MAX:
            return experiment_id
    raise sql.unfit(comparison)


def _order_by(order: Sequence[OrderKey]) -> list[str]:
    if not order:
        return list(_DEFAULT_ORDER)

    terms: list[str] = []
    for key in order:
        column = _COLUMNS.get(key.key) if key.entity == "attribute" else None
        if column is None:
            raise InvalidParameter(
                f"Invalid order_by key {key.entity} '{key.key}' for an experiment "
                "search"
            )
        collation = sql.BYTEWISE if key.key == "name" else ""
        terms.append(f"{column}{collation} {'ASC' if key.ascending else 'DESC'}")

    if not any(key.key == "experiment_id" for key in order):
        terms.append("e.experiment_id DESC")
    return terms
