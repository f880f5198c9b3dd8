"""Run search compiled to one PostgreSQL statement over the read models.

The statement selects the ``run_id`` of each matching run of ``rm.runs`` in
MLflow's order.  Every key and value is a bind parameter (``$1``, ...); the
text holds only the table, column and alias names below.

What each comparison means, as MLflow's SQL store has it:

* metrics compare the latest value (``rm.latest_metrics``); a NaN value
  satisfies only ``!=``;
* a comparison on a metric, param or tag needs the key to be there, so a run
  without tag ``t`` matches neither ``tags.t = 'x'`` nor ``tags.t != 'x'``;
  ``IS NULL`` is the way to ask for absence;
* ``LIKE`` is case-sensitive and ``ILIKE`` is not, with ``%`` and ``_`` as
  wildcards and no escape character, as on MLflow's SQLite and file stores
  (with PostgreSQL's default escape, a backslash, a pattern ending in one
  would be an error, and Windows paths would not match themselves);
* each dataset comparison holds if any one input of the run satisfies it.

Ordering: each order key in turn, with runs lacking the key after the rest in
either direction and, for metrics, NaN after every number; then
``start_time DESC`` (missing last) unless ``start_time`` was a key; then
``run_id``.
"""

from collections.abc import Sequence

from projections.search import sql
from projections.search.filters import Comparison, OrderKey
from tracker.errors import InvalidParameter

_STRING_COLUMNS = {
    "run_id": "r.run_id",
    "run_name": "r.run_name",
    "status": "r.status",
    "user_id": "r.user_id",
    "artifact_uri": "r.artifact_uri",
}
_NUMERIC_COLUMNS = {"start_time": "r.start_time", "end_time": "r.end_time"}
_DATASET_COLUMNS = {
    "name": "i.dataset_name",
    "digest": "i.dataset_digest",
    "context": "i.context",
}
_KEYED_TABLES = {
    "metric": "rm.latest_metrics",
    "param": "rm.params",
    "tag": "rm.tags",
}


def compile_run_search(
    experiment_ids: Sequence[int],
    view_type: str,
    filters: Sequence[Comparison],
    order: Sequence[OrderKey],
    offset: int,
    limit: int,
) -> tuple[str, list[object]]:
    """Compile a run search into one statement and its bind values.

    Args:
        experiment_ids: The experiments to search in.
        view_type: ``"ACTIVE_ONLY"``, ``"DELETED_ONLY"`` or ``"ALL"``.
        filters: Comparisons from ``parse_run_filter``, all to hold.
        order: Keys from ``parse_run_order_by``; empty for MLflow's default.
        offset: How many matching runs to skip.
        limit: How many run ids to return at most; callers pass one more
            than the page size to learn whether another page follows.

    Returns:
        The statement, selecting ``run_id``, and its values for ``$1``, ...

    Raises:
        InvalidParameter: An argument is out of range, or a comparison or key
            is one the parser would not have produced.
    """
    bind = sql.Binds()
    joins, ordering = _order_by(order, bind)
    experiments = bind(sql.experiment_ids(experiment_ids), "bigint[]")
    stages = bind(sql.stages(view_type, "run_view_type"), "text[]")
    conditions = [
        f"r.experiment_id = ANY({experiments})",
        f"r.lifecycle_stage = ANY({stages})",
        *(_condition(comparison, bind) for comparison in filters),
    ]

    statement = "\n".join(
        [
            "SELECT r.run_id",
            "FROM rm.runs AS r",
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

    if entity == "dataset" and key in _DATASET_COLUMNS:
        test = sql.string_test(_DATASET_COLUMNS[key], comparison, bind)
        return (
            "EXISTS (SELECT 1 FROM rm.run_inputs AS i"
            f" WHERE i.run_id = r.run_id AND {test})"
        )

    if entity not in _KEYED_TABLES:
        raise InvalidParameter(f"Invalid {entity} key '{key}' for a run search")
    keyed = (
        f"SELECT 1 FROM {_KEYED_TABLES[entity]} AS k"
        f" WHERE k.run_id = r.run_id AND k.key = {bind(key)}"
    )
    if op == "IS NULL":
        return f"NOT EXISTS ({keyed})"
    if op == "IS NOT NULL":
        return f"EXISTS ({keyed})"
    if entity != "metric":
        test = sql.string_test("k.value", comparison, bind)
        return f"EXISTS ({keyed} AND {test})"

    # PostgreSQL ranks NaN above every number, so without the guard a NaN
    # would satisfy > and >=; MLflow lets it satisfy != only.
    operator = sql.numeric_operator(comparison)
    test = f"k.value {operator} {sql.number(comparison, bind)}"
    if op != "!=":
        test += " AND k.value <> 'NaN'"
    return f"EXISTS ({keyed} AND {test})"


def _order_by(
    order: Sequence[OrderKey], bind: sql.Binds
) -> tuple[list[str], list[str]]:
    joins: list[str] = []
    terms: list[str] = []
    for index, key in enumerate(order, start=1):
        if key.entity == "attribute" and key.key in _NUMERIC_COLUMNS:
            value, collation = _NUMERIC_COLUMNS[key.key], ""
        elif key.entity == "attribute" and key.key in _STRING_COLUMNS:
            value, collation = _STRING_COLUMNS[key.key], sql.BYTEWISE
        elif key.entity in _KEYED_TABLES:
            alias = f"o{index}"
            joins.append(
                f"LEFT JOIN {_KEYED_TABLES[key.entity]} AS {alias}"
                f" ON {alias}.run_id = r.run_id AND {alias}.key = {bind(key.key)}"
            )
            value = f"{alias}.value"
            collation = "" if key.entity == "metric" else sql.BYTEWISE
        else:
            raise InvalidParameter(
                f"Invalid order_by key {key.entity} '{key.key}' for a run search"
            )

        if key.entity == "metric":
            terms.append(
                f"CASE WHEN {value} IS NULL THEN 2"
                f" WHEN {value} = 'NaN' THEN 1 ELSE 0 END"
            )
        else:
            terms.append(f"{value} IS NULL")
        terms.append(f"{value}{collation} {'ASC' if key.ascending else 'DESC'}")

    # A run without start_time sorts last here too, as it does on MLflow's
    # SQLite store (where NULL is least) and as a start_time of 0 would.
    # run_id needs no collation: run ids are lowercase hex, on which every
    # collation agrees.
    if not any(k.entity == "attribute" and k.key == "start_time" for k in order):
        terms.append("r.start_time DESC NULLS LAST")
    terms.append("r.run_id")

    return joins, terms
