"""What the search compilers share: bind parameters, comparison templates, checks.

Each compiler builds one PostgreSQL statement whose text holds only table,
column and alias names; every key and value of the request goes through
``Binds``.  The checks here guard the arguments a caller passes directly, and
the comparisons a parser would not have produced.
"""

from collections.abc import Sequence

from projections.search.filters import Comparison
from projections.search.syntax import INT64_MAX, INT64_MIN
from tracker.errors import InvalidParameter

# LIKE and ILIKE have no escape character, as on MLflow's SQLite and file
# stores: with PostgreSQL's default escape, a backslash, a pattern ending in
# one would be an error, and Windows paths would not match themselves.
STRING_TESTS = {
    "=": "{} = {}",
    "!=": "{} <> {}",
    "LIKE": "{} LIKE {} ESCAPE ''",
    "ILIKE": "{} ILIKE {} ESCAPE ''",
}
LIST_TESTS = {
    "IN": "{} = ANY({})",
    "NOT IN": "{} <> ALL({})",
}
NUMERIC_TESTS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

# Text sorts bytewise, as MLflow's default SQLite store sorts it, whatever
# the database's locale.
BYTEWISE = ' COLLATE "C"'

_STAGES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}


class Binds:
    """The values bound to one statement, numbered as asyncpg numbers them."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object, cast: str = "") -> str:
        self.values.append(value)
        placeholder = f"${len(self.values)}"
        return f"{placeholder}::{cast}" if cast else placeholder


def string_test(column: str, comparison: Comparison, bind: Binds) -> str:
    """Compare a text column with a string, or a list of them for ``IN``.

    Raises:
        InvalidParameter: The comparison is not a string or list comparison.
    """
    value = comparison.value
    if comparison.op in LIST_TESTS:
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            raise unfit(comparison)
        return LIST_TESTS[comparison.op].format(column, bind(list(value), "text[]"))

    template = STRING_TESTS.get(comparison.op)
    if template is None or not isinstance(value, str):
        raise unfit(comparison)
    return template.format(column, bind(value))


def numeric_operator(comparison: Comparison) -> str:
    """The SQL operator of a numeric comparison.

    Raises:
        InvalidParameter: The comparison is not a numeric one.
    """
    operator = NUMERIC_TESTS.get(comparison.op)
    if operator is None:
        raise unfit(comparison)
    return operator


def number(comparison: Comparison, bind: Binds) -> str:
    """Bind the comparison's number, typed for the column it meets.

    A whole number binds as bigint, so ``start_time = 5`` can use an index; a
    fraction, or any metric value, compares as double precision rather than
    being truncated.

    Raises:
        InvalidParameter: The value is not a number.
    """
    value = comparison.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise unfit(comparison)
    is_bigint = isinstance(value, int) and INT64_MIN <= value <= INT64_MAX
    if is_bigint and comparison.entity != "metric":
        return bind(value, "bigint")
    return bind(float(value), "double precision")


def stages(view_type: str, field: str) -> list[str]:
    """The lifecycle stages a ``view_type`` asks for.

    Args:
        view_type: ``"ACTIVE_ONLY"``, ``"DELETED_ONLY"`` or ``"ALL"``.
        field: The request field's name, for the error.

    Raises:
        InvalidParameter: ``view_type`` is none of those.
    """
    found = _STAGES.get(view_type)
    if found is None:
        raise InvalidParameter(
            f"Invalid {field} '{view_type}'. Expected one of "
            "ACTIVE_ONLY, DELETED_ONLY, ALL"
        )
    return list(found)


def experiment_ids(ids: Sequence[int]) -> list[int]:
    """Check each experiment id is a bigint, and list them.

    Raises:
        InvalidParameter: One is not.
    """
    for experiment_id in ids:
        if isinstance(experiment_id, bool) or not isinstance(experiment_id, int):
            raise InvalidParameter(f"Invalid experiment ID {experiment_id!r}")
        if not INT64_MIN <= experiment_id <= INT64_MAX:
            raise InvalidParameter(f"Invalid experiment ID {experiment_id!r}")
    return list(ids)


def count(n: int, name: str) -> int:
    """Check an offset or limit is a whole number that fits a bigint.

    Raises:
        InvalidParameter: It is not.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= INT64_MAX:
        raise InvalidParameter(f"Invalid {name} {n!r}: expected a whole number >= 0")
    return n


def unfit(comparison: Comparison) -> InvalidParameter:
    """The error for a comparison no parser would have produced."""
    return InvalidParameter(
        f"Invalid comparison {comparison.op} {comparison.value!r} on "
        f"{comparison.entity} '{comparison.key}'"
    )
