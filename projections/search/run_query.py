"""Run search compiled to PostgreSQL statements over the read models.

Together the statements select the ``run_id`` of each matching run of
``rm.runs`` in MLflow's order, one stretch of it each (``compile_run_search``
says why there can be more than one).  Every key and value is a bind
parameter (``$1``, ...); the text holds only the table, column and alias
names below.

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
from typing import Literal, NamedTuple

import msgspec

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


class Segment(msgspec.Struct, frozen=True):
    """One stretch of a run search's order, as a statement of its own.

    ``select`` lists the stretch's run ids in order; its two placeholders
    after ``values`` take the OFFSET and the LIMIT.  ``count`` counts the
    stretch's runs with ``values`` alone.

    ``resume``, when there is one, lists the runs after a given run instead
    of after an offset, so that a deep page is read as fast as the first.
    Its four placeholders after ``values`` take that run's order key (the
    metric's value, its start_time and its id) and the LIMIT.  Both it and
    ``select`` then answer each run's order key beside its id.
    """

    select: str
    count: str
    values: list[object]
    resume: str | None = None


class RunKey(NamedTuple):
    """A run's place in the order of a segment that has a ``resume``."""

    segment: int
    value: float
    start_time: int | None
    run_id: str


def compile_run_search(
    experiment_ids: Sequence[int],
    view_type: str,
    filters: Sequence[Comparison],
    order: Sequence[OrderKey],
) -> list[Segment]:
    """Compile a run search into statements whose answers, in turn, are its order.

    A search ordered first by a metric has two segments: the runs whose
    value is a number, then the rest (NaN first, then no value at all).  As
    one statement that order is a CASE over an outer join, which PostgreSQL
    can only sort, reading every run; the first segment instead walks
    ``latest_metrics_ranked`` in order and stops at the page's end, and the
    second is read only when a page reaches it.  A filter that compares the
    metric (with anything but ``!=``) leaves the second segment empty, so it
    is left out.  Any other search is one segment.

    Args:
        experiment_ids: The experiments to search in.
        view_type: ``"ACTIVE_ONLY"``, ``"DELETED_ONLY"`` or ``"ALL"``.
        filters: Comparisons from ``parse_run_filter``, all to hold.
        order: Keys from ``parse_run_order_by``; empty for MLflow's default.

    Returns:
        The segments, first to last.

    Raises:
        InvalidParameter: An argument is out of range, or a comparison or key
            is one the parser would not have produced.
    """
    scope = _Scope(
        sql.experiment_ids(experiment_ids),
        sql.stages(view_type, "run_view_type"),
        filters,
    )
    if order and order[0].entity == "metric":
        lead, rest = order[0], order[1:]
        segments = [_segment(scope, rest, _Lead(lead, "number"))]
        # Every metric comparison needs the key, and only != holds for NaN.
        if not any(
            c.entity == "metric" and c.key == lead.key and c.op != "!="
            for c in filters
        ):
            segments.append(_segment(scope, rest, _Lead(lead, "rest")))
        return segments

    return [_segment(scope, order, None)]


class _Scope(NamedTuple):
    experiment_ids: list[int]
    stages: list[str]
    filters: Sequence[Comparison]


class _Lead(NamedTuple):
    """The leading metric key of the order, and which of its segments."""

    key: OrderKey
    part: Literal["number", "rest"]


def _segment(scope: _Scope, order: Sequence[OrderKey], lead: _Lead | None) -> Segment:
    bind = sql.Binds()
    if lead is None:
        sources = ["FROM rm.runs AS r"]
        conditions = [_in_experiments("r.experiment_id", scope, bind)]
        leading: list[str] = []
    else:
        sources, conditions, leading = _lead_terms(lead, scope, bind)

    joins, ordering = _order_by(order, bind)
    conditions += [
        f"r.lifecycle_stage = ANY({bind(scope.stages, 'text[]')})",
        *(_condition(comparison, bind, lead) for comparison in scope.filters),
    ]
    body = [*sources, *joins, "WHERE " + "\n  AND ".join(conditions)]
    order_by = "ORDER BY " + ",\n  ".join([*leading, *ordering])
    after = len(bind.values)
    count = "\n".join(["SELECT count(*)", *body])

    # Only a number segment with no further order key can resume after a
    # run: its order is the value, start_time and run_id, all at hand.
    resumable = lead is not None and lead.part == "number" and not order
    keys = ["r.run_id", "o0.value", "r.start_time"] if resumable else ["r.run_id"]
    columns = "SELECT " + ", ".join(keys)
    select = "\n".join(
        [
            columns,
            *body,
            order_by,
            f"OFFSET ${after + 1}::bigint",
            f"LIMIT ${after + 2}::bigint",
        ]
    )
    if lead is None or not resumable:
        return Segment(select, count, bind.values)

    resume = "\n".join(
        [
            columns,
            *body,
            "  AND " + _after_run(lead.key.ascending, after),
            order_by,
            f"LIMIT ${after + 4}::bigint",
        ]
    )
    return Segment(select, count, bind.values, resume)


def _after_run(ascending: bool, after: int) -> str:
    """Whether a run comes after the given one in a number segment's order.

    The order is the metric's value, then start_time descending with a
    missing start last, then the run id.  The plain bound on the value is
    what lets PostgreSQL start its walk of the index at the given run.
    """
    value, start, run_id = (f"${after + n}" for n in (1, 2, 3))
    start = f"{start}::bigint"
    beyond, bound = (">", ">=") if ascending else ("<", "<=")
    later_start = (
        f"r.start_time < {start}"
        f" OR (r.start_time IS NULL AND {start} IS NOT NULL)"
        f" OR (r.start_time IS NOT DISTINCT FROM {start}"
        f" AND r.run_id > {run_id}::text)"
    )
    return (
        f"o0.value {bound} {value}::float8"
        f" AND (o0.value {beyond} {value}::float8"
        f" OR (o0.value = {value}::float8 AND ({later_start})))"
    )


def _lead_terms(
    lead: _Lead, scope: _Scope, bind: sql.Binds
) -> tuple[list[str], list[str], list[str]]:
    """A segment's sources, its conditions and its leading order term."""
    if lead.part == "rest":
        sources = [
            "FROM rm.runs AS r",
            "LEFT JOIN rm.latest_metrics AS o0"
            f" ON o0.run_id = r.run_id AND o0.key = {bind(lead.key.key)}",
        ]
        conditions = [
            _in_experiments("r.experiment_id", scope, bind),
            "(o0.run_id IS NULL OR o0.value = 'NaN')",
        ]
        # NaN first, then the runs without the metric.
        return sources, conditions, ["o0.run_id IS NULL"]

    # The metric's row carries its run's experiment, so the experiment and
    # the key lead the index walk, and each run is looked up as it is reached.
    # The run's experiment is tested too, so that a plan starting from the
    # runs (for a selective start_time, say) reads this experiment's alone.
    sources = [
        "FROM rm.latest_metrics AS o0",
        "JOIN rm.runs AS r ON r.run_id = o0.run_id",
    ]
    conditions = [
        _in_experiments("o0.experiment_id", scope, bind),
        _in_experiments("r.experiment_id", scope, bind),
        f"o0.key = {bind(lead.key.key)}",
        "o0.value <> 'NaN'",
    ]
    direction = "ASC" if lead.key.ascending else "DESC"
    return sources, conditions, [f"o0.value {direction}"]


def _in_experiments(column: str, scope: _Scope, bind: sql.Binds) -> str:
    # One experiment is compared with =, not with = ANY of a one-element
    # array: only then does PostgreSQL read that experiment's stretch of an
    # index in the index's order; with ANY it reads and sorts.
    ids = scope.experiment_ids
    if len(ids) == 1:
        return f"{column} = {bind(ids[0], 'bigint')}"
    return f"{column} = ANY({bind(ids, 'bigint[]')})"


def _condition(
    comparison: Comparison, bind: sql.Binds, lead: _Lead | None = None
) -> str:
    entity, key, op = comparison.entity, comparison.key, comparison.op
    if (
        lead is not None
        and lead.part == "number"
        and entity == "metric"
        and key == lead.key.key
        and op in sql.NUMERIC_TESTS
    ):
        # The segment already holds the run's value of this metric, and it is
        # a number: compared there, the value bounds the index walk, so a
        # page past the last match stops where the matches end.
        operator = sql.numeric_operator(comparison)
        return f"o0.value {operator} {sql.number(comparison, bind)}"

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
