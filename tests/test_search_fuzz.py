"""Properties of the search grammar, its SQL and its page tokens, under hypothesis.

Whatever a client sends, parsing and compiling raise ``InvalidParameter`` or
nothing; what the grammar can say, it reads back as written; and the SQL text
never carries a key or value of the request.
"""

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.search.experiment_query import compile_experiment_search
from projections.search.filters import (
    Comparison,
    Entity,
    Operator,
    OrderKey,
    Value,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from projections.search.page_tokens import decode_offset, encode_offset
from projections.search.run_query import compile_run_search
from tracker.errors import InvalidParameter

# No example database: it would leave a .hypothesis directory in the tree.
fuzz = settings(database=None, max_examples=300)

_INT64_MAX = 2**63 - 1
_BARE_KEY = re.compile(r"\w+(?:\.\w+)*")
_NUMERIC_OPS: list[Operator] = ["=", "!=", "<", "<=", ">", ">="]
_STRING_OPS: list[Operator] = ["=", "!=", "LIKE", "ILIKE"]
_KEYED_OPS: list[Operator] = [*_STRING_OPS, "IS NULL", "IS NOT NULL"]
_LIST_OPS: list[Operator] = ["IN", "NOT IN"]
_VIEW_TYPES = st.sampled_from(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"])

# Text a filter may hold: no NUL and no lone surrogates (both refused).
storable_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
fragments = st.sampled_from([
    "metrics.m", "params.p", "tags.t", "attributes.status", "datasets.name",
    "run_id", "start_time", "`k`", '"v"', "'v'", "1", "-2.5e3", ".", "(", ")",
    ",", "=", "!=", "<", ">=", "LIKE", "ilike", "IN", "NOT", "IS", "NULL",
    "AND", "or", "ASC", "desc", "'", '"', "`", "\x00", " ", "\t",
])
token_soup = st.lists(fragments, max_size=12).map(" ".join)
any_text = st.one_of(st.text(max_size=40), token_soup)


def _search_with(text: str) -> None:
    """Parse ``text`` as each kind of filter and order_by, compiling what parses."""
    with contextlib.suppress(InvalidParameter):
        compile_run_search([1], "ALL", parse_run_filter(text), [], 0, 10)
    with contextlib.suppress(InvalidParameter):
        compile_experiment_search("ALL", parse_experiment_filter(text), [], 0, 10)
    with contextlib.suppress(InvalidParameter):
        compile_run_search([1], "ALL", [], parse_run_order_by([text]), 0, 10)
    with contextlib.suppress(InvalidParameter):
        order = parse_experiment_order_by([text])
        compile_experiment_search("ALL", [], order, 0, 10)


@fuzz
@given(any_text)
def test_any_text_raises_nothing_but_invalid_parameter(text: str) -> None:
    _search_with(text)


# Valid filters, drawn with the spelling choices the grammar allows.


def _spaced(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([" ", "  ", "\t", "\n "]))


def _any_case(draw: st.DrawFn, word: str) -> str:
    return "".join(
        draw(st.sampled_from([c.lower(), c.upper()])) if c.isalpha() else c
        for c in word
    )


def _quoted(draw: st.DrawFn, text: str, quotes: str) -> str:
    quote = draw(st.sampled_from(quotes))
    return quote + text.replace(quote, quote * 2) + quote


def _key(draw: st.DrawFn, key: str) -> str:
    if _BARE_KEY.fullmatch(key) and draw(st.booleans()):
        return key
    return _quoted(draw, key, '`"')


def _string(draw: st.DrawFn, value: str) -> str:
    return _quoted(draw, value, "'\"")


def _operator(draw: st.DrawFn, op: str) -> str:
    return _any_case(draw, op) if op[0].isalpha() else op


def _number(value: float) -> str:
    return repr(value)


@st.composite
def run_comparisons(draw: st.DrawFn) -> tuple[str, Comparison]:
    """A run clause as text, and the comparison it should parse to."""
    kind = draw(st.sampled_from(["metric", "keyed", "string", "number", "dataset"]))
    if kind == "metric":
        key = draw(storable_text)
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(st.floats(allow_nan=False, allow_infinity=False))
        prefix = draw(st.sampled_from(["metric", "metrics"]))
        text = f"{prefix}.{_key(draw, key)} {op} {_number(value)}"
        return text, Comparison("metric", key, op, value)  # type: ignore[arg-type]

    if kind == "keyed":
        entity = draw(st.sampled_from(["param", "tag"]))
        prefix = draw(st.sampled_from(
            ["param", "params", "parameter", "parameters"]
            if entity == "param" else ["tag", "tags"]
        ))
        key = draw(storable_text)
        op = draw(st.sampled_from(
            ["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"]
        ))
        target = f"{prefix}.{_key(draw, key)}{_spaced(draw)}{_operator(draw, op)}"
        if op.startswith("IS"):
            return target, Comparison(entity, key, op, None)  # type: ignore[arg-type]
        value = draw(storable_text)
        text = f"{target}{_spaced(draw)}{_string(draw, value)}"
        return text, Comparison(entity, key, op, value)  # type: ignore[arg-type]

    if kind == "number":
        spelling, key = draw(st.sampled_from([
            ("start_time", "start_time"),
            ("end_time", "end_time"),
            ("created", "start_time"),
            ("Created", "start_time"),
        ]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        number: int | float = draw(st.one_of(
            st.integers(-(2**63), _INT64_MAX),
            st.floats(allow_nan=False, allow_infinity=False),
        ))
        target = _attribute_target(draw, spelling)
        text = f"{target} {op} {number if isinstance(number, int) else repr(number)}"
        return text, Comparison("attribute", key, op, number)  # type: ignore[arg-type]

    if kind == "string":
        spelling, key = draw(st.sampled_from([
            ("run_id", "run_id"),
            ("run_name", "run_name"),
            ("`run name`", "run_name"),
            ('"Run Name"', "run_name"),
            ("status", "status"),
            ("user_id", "user_id"),
            ("artifact_uri", "artifact_uri"),
        ]))
        ops = ["=", "!=", "LIKE", "ILIKE"] + (["IN", "NOT IN"] if key == "run_id" else [])
        target = _attribute_target(draw, spelling)
        return _string_clause(draw, "attribute", key, target, ops)

    key = draw(st.sampled_from(["name", "digest", "context"]))
    target = f"{draw(st.sampled_from(['dataset', 'datasets']))}.{key}"
    ops = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]
    return _string_clause(draw, "dataset", key, target, ops)


def _attribute_target(draw: st.DrawFn, spelling: str) -> str:
    prefix = draw(st.sampled_from(["", "attribute.", "attributes.", "attr.", "run."]))
    return prefix + spelling


def _string_clause(
    draw: st.DrawFn, entity: str, key: str, target: str, ops: list[str]
) -> tuple[str, Comparison]:
    op = draw(st.sampled_from(ops))
    spelled = f"{target}{_spaced(draw)}{_operator(draw, op)}{_spaced(draw)}"
    if op.endswith("IN"):
        values = tuple(draw(st.lists(storable_text, min_size=1, max_size=4)))
        items = ", ".join(_string(draw, v) for v in values)
        trailing = draw(st.sampled_from(["", ","]))
        text = f"{spelled}({items}{trailing})"
        return text, Comparison(entity, key, op, values)  # type: ignore[arg-type]
    value = draw(storable_text)
    text = spelled + _string(draw, value)
    return text, Comparison(entity, key, op, value)  # type: ignore[arg-type]


@st.composite
def experiment_comparisons(draw: st.DrawFn) -> tuple[str, Comparison]:
    """An experiment clause as text, and the comparison it should parse to."""
    kind = draw(st.sampled_from(["name", "id", "ids", "time", "tag"]))
    prefix = draw(st.sampled_from(["", "attribute.", "attributes."]))
    if kind == "name":
        return _string_clause(
            draw, "attribute", "name", prefix + "name", ["=", "!=", "LIKE", "ILIKE"]
        )

    if kind in ("id", "ids"):
        ids = [str(n) for n in draw(st.lists(st.integers(0, _INT64_MAX), min_size=1))]
        target = prefix + "experiment_id"
        if kind == "id":
            op = draw(st.sampled_from(["=", "!="]))
            text = f"{target} {op} {_string(draw, ids[0])}"
            return text, Comparison("attribute", "experiment_id", op, ids[0])  # type: ignore[arg-type]
        op = draw(st.sampled_from(["IN", "NOT IN"]))
        listed = ", ".join(_string(draw, i) for i in ids)
        text = f"{target} {_operator(draw, op)} ({listed})"
        return text, Comparison("attribute", "experiment_id", op, tuple(ids))  # type: ignore[arg-type]

    if kind == "time":
        key = draw(st.sampled_from(["creation_time", "last_update_time"]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        number = draw(st.integers(-(2**63), _INT64_MAX))
        return f"{prefix}{key} {op} {number}", Comparison("attribute", key, op, number)  # type: ignore[arg-type]

    key = draw(storable_text)
    entity_prefix = draw(st.sampled_from(["tag", "tags"]))
    op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"]))
    target = f"{entity_prefix}.{_key(draw, key)} {_operator(draw, op)}"
    if op.startswith("IS"):
        return target, Comparison("tag", key, op, None)  # type: ignore[arg-type]
    value = draw(storable_text)
    return f"{target} {_string(draw, value)}", Comparison("tag", key, op, value)  # type: ignore[arg-type]


@st.composite
def run_filters(draw: st.DrawFn) -> tuple[str, list[Comparison]]:
    clauses = draw(st.lists(run_comparisons(), max_size=4))
    glue = [f"{_spaced(draw)}{_any_case(draw, 'and')}{_spaced(draw)}" for _ in clauses]
    text = "".join(g + c for g, (c, _) in zip(["", *glue], clauses, strict=False))
    return text, [comparison for _, comparison in clauses]


@st.composite
def experiment_filters(draw: st.DrawFn) -> tuple[str, list[Comparison]]:
    clauses = draw(st.lists(experiment_comparisons(), max_size=4))
    text = " AND ".join(clause for clause, _ in clauses)
    return text, [comparison for _, comparison in clauses]


@fuzz
@given(run_filters())
def test_run_filters_read_back_as_written(case: tuple[str, list[Comparison]]) -> None:
    text, comparisons = case

    assert parse_run_filter(text) == comparisons


@fuzz
@given(experiment_filters())
def test_experiment_filters_read_back_as_written(
    case: tuple[str, list[Comparison]],
) -> None:
    text, comparisons = case

    assert parse_experiment_filter(text) == comparisons


@st.composite
def mutated(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> str:
    """A valid filter with one character dropped, added or doubled."""
    text = draw(texts)
    at = draw(st.integers(0, len(text)))
    edit = draw(st.sampled_from(["drop", "add", "double"]))
    if edit == "drop":
        return text[:at] + text[at + 1 :]
    if edit == "double":
        return text[:at] + text[at : at + 2] * 2 + text[at + 2 :]
    return text[:at] + draw(st.sampled_from("'\"`().,=<>! -1eANDOR")) + text[at:]


@fuzz
@given(
    st.one_of(
        mutated(run_filters().map(lambda case: case[0])),
        mutated(experiment_filters().map(lambda case: case[0])),
    )
)
def test_near_valid_filters_raise_nothing_but_invalid_parameter(text: str) -> None:
    _search_with(text)


@fuzz
@given(run_filters())
def test_near_valid_filters_compile_or_raise_invalid_parameter(
    case: tuple[str, list[Comparison]],
) -> None:
    text, _ = case
    try:
        filters = parse_run_filter(text[: len(text) // 2])
    except InvalidParameter:
        return

    compile_run_search([1], "ALL", filters, [], 0, 10)


# Order keys.

_RUN_ORDER_TARGETS = [
    ("metrics", "metric"), ("params", "param"), ("tags", "tag"),
]


@st.composite
def run_orders(draw: st.DrawFn) -> tuple[list[str], list[OrderKey]]:
    items: list[str] = []
    keys: list[OrderKey] = []
    for _ in range(draw(st.integers(0, 4))):
        prefix, entity = draw(st.sampled_from(_RUN_ORDER_TARGETS))
        key = draw(storable_text)
        if any((k.entity, k.key) == (entity, key) for k in keys):
            continue
        direction = draw(st.sampled_from(["", " asc", " ASC", " desc", " DESC"]))
        items.append(f"{prefix}.{_key(draw, key)}{direction}")
        keys.append(OrderKey(entity, key, "desc" not in direction.lower()))  # type: ignore[arg-type]
    return items, keys


@fuzz
@given(run_orders())
def test_run_order_by_reads_back_as_written(
    case: tuple[list[str], list[OrderKey]],
) -> None:
    items, keys = case

    assert parse_run_order_by(items) == keys


# The SQL: one statement whose text depends on the request's shape only.


def _placeholders(statement: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", statement)}


def _blank(comparison: Comparison) -> Comparison:
    """The same comparison with every free key and value replaced."""
    value = comparison.value
    if isinstance(value, tuple):
        blanked: object = ("0",) * len(value)
    elif isinstance(value, str):
        blanked = "0"
    elif isinstance(value, int | float):
        blanked = type(value)(0)
    else:
        blanked = None
    free_key = comparison.entity in ("metric", "param", "tag")
    return Comparison(
        comparison.entity,
        "k" if free_key else comparison.key,
        comparison.op,
        blanked,  # type: ignore[arg-type]
    )


@fuzz
@given(run_filters(), run_orders(), st.sampled_from(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]))
def test_run_sql_binds_every_key_and_value(
    case: tuple[str, list[Comparison]],
    order_case: tuple[list[str], list[OrderKey]],
    view_type: str,
) -> None:
    _, comparisons = case
    _, order = order_case
    blank_order = [OrderKey(k.entity, "k", k.ascending) for k in order]

    statement, values = compile_run_search([1, 2], view_type, comparisons, order, 3, 4)
    blank_statement, _ = compile_run_search(
        [7], "ALL", [_blank(c) for c in comparisons], blank_order, 0, 0
    )

    assert statement == blank_statement
    assert _placeholders(statement) == set(range(1, len(values) + 1))


@fuzz
@given(experiment_filters(), st.sampled_from(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]))
def test_experiment_sql_binds_every_key_and_value(
    case: tuple[str, list[Comparison]], view_type: str
) -> None:
    _, comparisons = case

    statement, values = compile_experiment_search(view_type, comparisons, [], 3, 4)
    blank_statement, _ = compile_experiment_search(
        "ALL", [_blank(c) for c in comparisons], [], 0, 0
    )

    assert statement == blank_statement
    assert _placeholders(statement) == set(range(1, len(values) + 1))


@pytest.mark.parametrize("view_type", ["ACTIVE", "all", ""])
def test_unknown_view_type_is_rejected(view_type: str) -> None:
    with pytest.raises(InvalidParameter, match="Invalid"):
        compile_run_search([1], view_type, [], [], 0, 1)
    with pytest.raises(InvalidParameter, match="Invalid"):
        compile_experiment_search(view_type, [], [], 0, 1)


# Page tokens.


def test_page_token_matches_the_stock_server_bytes() -> None:
    assert encode_offset(2) == "eyJvZmZzZXQiOiAyfQ=="


@fuzz
@given(st.integers(0, _INT64_MAX))
def test_page_token_carries_its_offset(offset: int) -> None:
    assert decode_offset(encode_offset(offset)) == offset


@pytest.mark.parametrize("token", [None, ""])
def test_missing_page_token_starts_at_zero(token: str | None) -> None:
    assert decode_offset(token) == 0


@fuzz
@given(st.one_of(st.text(), st.binary().map(lambda b: b.hex())))
def test_any_page_token_raises_nothing_but_invalid_parameter(token: str) -> None:
    try:
        decode_offset(token)
    except InvalidParameter:
        pass
