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

from projections.search.filters import Comparison, OrderKey
from tracker.errors import InvalidParameter

_STAGES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}

_COLUMNS = {
    "name": "e.name",
    "experiment_id": "e.experiment_id",
    "creation_time": "e.creation_time",
    "last_update_time": "e.last_update_time",
}
_STRING_TESTS = {
    "=": "{} = {}",
    "!=": "{} <> {}",
    "LIKE": "{} LIKE {} ESCAPE ''",
    "ILIKE": "{} ILIKE {} ESCAPE ''",
}
_ID_TESTS = {
    "=": "{} = {}",
    "!=": "{} <> {}",
    "IN": "{} = ANY({})",
    "NOT IN": "{} <> ALL({})",
}
_NUMERIC_TESTS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_DEFAULT_ORDER = ("e.creation_time DESC", "e.experiment_id ASC")

_EXPERIMENT_ID = re.compile(r"[-+]?[0-9]{1,19}")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class _Binds:
    """The values bound to one statement, numbered as asyncpg numbers them."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object, cast: str = "") -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder


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
    stages = _STAGES.get(view_type)
    if stages is None:
        raise InvalidParameter(
            f"Invalid view_type '{view_type}'. Expected one of "
            "ACTIVE_ONLY, DELETED_ONLY, ALL"
        )

    bind = _Binds()
    conditions = [
        f"e.lifecycle_stage = ANY({bind(list(stages), 'text[]')})",
        *(_condition(comparison, bind) for comparison in filters),
    ]

    statement = "\n".join(
        [
            "SELECT e.experiment_id",
            "FROM rm.experiments AS e",
            "WHERE " + "\n  AND ".join(conditions),
            "ORDER BY " + ", ".join(_order_by(order)),
            f"OFFSET {bind(_count(offset, 'offset'), 'bigint')}",
            f"LIMIT {bind(_count(limit, 'limit'), 'bigint')}",
        ]
    )
    return statement, bind.values


def _condition(comparison: Comparison, bind: _Binds) -> str:
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
    if key == "name" and op in _STRING_TESTS and isinstance(value, str):
        return _STRING_TESTS[op].format(column, bind(value))
    if key == "experiment_id" and op in _ID_TESTS:
        return _ID_TESTS[op].format(column, _experiment_ids(comparison, bind))
    if key != "name" and key != "experiment_id" and op in _NUMERIC_TESTS:
        return f"{column} {_NUMERIC_TESTS[op]} {_number(comparison, bind)}"
    raise _unfit(comparison)


def _tag_condition(comparison: Comparison, bind: _Binds) -> str:
    tag = (
        "SELECT 1 FROM rm.experiment_tags AS t"
        f" WHERE t.experiment_id = e.experiment_id AND t.key = {bind(comparison.key)}"
    )
    op, value = comparison.op, comparison.value
    if op == "IS NULL":
        return f"NOT EXISTS ({tag})"
    if op == "IS NOT NULL":
        return f"EXISTS ({tag})"
    if op in _STRING_TESTS and isinstance(value, str):
        return f"EXISTS ({tag} AND {_STRING_TESTS[op].format('t.value', bind(value))})"
    raise _unfit(comparison)


def _experiment_ids(comparison: Comparison, bind: _Binds) -> str:
    value = comparison.value
    if comparison.op in ("IN", "NOT IN") and isinstance(value, tuple):
        return bind([_experiment_id(comparison, text) for text in value], "bigint[]")
    if comparison.op in ("=", "!=") and isinstance(value, str):
        return bind(_experiment_id(comparison, value), "bigint")
    raise _unfit(comparison)


def _experiment_id(comparison: Comparison, text: object) -> int:
    if isinstance(text, str) and _EXPERIMENT_ID.fullmatch(text):
        experiment_id = int(text)
        if _INT64_MIN <= experiment_id <= _INT64_MAX:
            return experiment_id
    raise _unfit(comparison)


def _number(comparison: Comparison, bind: _Binds) -> str:
    value = comparison.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unfit(comparison)
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return bind(value, "bigint")
    return bind(float(value), "double precision")


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
        # Names sort bytewise, as MLflow's default SQLite store sorts them,
        # whatever the database's locale.
        collation = ' COLLATE "C"' if key.key == "name" else ""
        terms.append(f"{column}{collation} {'ASC' if key.ascending else 'DESC'}")

    if not any(key.key == "experiment_id" for key in order):
        terms.append("e.experiment_id DESC")
    return terms


def _count(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= _INT64_MAX:
        raise InvalidParameter(f"Invalid {name} {n!r}: expected a whole number >= 0")
    return n


def _unfit(comparison: Comparison) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid comparison {comparison.op} {comparison.value!r} on "
        f"{comparison.entity} '{comparison.key}'"
    )
