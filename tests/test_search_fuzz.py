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

# No example database, so a run does not depend on what earlier runs found
# (hypothesis still keeps caches in .hypothesis/, which git ignores).
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
    st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12
)
# Pieces of the language, and of its mistakes, to be strung together.
_FRAGMENTS = """
    metrics.m params.p tags.t attributes.status datasets.name run_id start_time
    `k` "v" 'v' 1 -2.5e3 . ( ) , = != < >= LIKE ilike IN NOT IS NULL AND or ASC
    desc ' " `
"""
fragments = st.sampled_from([*_FRAGMENTS.split(), "\x00", "\t"])
token_soup = st.lists(fragments, max_size=12).map(" ".join)
any_text = st.one_of(st.text(max_size=40), token_soup)


def _search_with(text: str) -> None:
    """Parse ``text`` as each kind of filter and order_by, compiling what parses."""
    with contextlib.suppress(InvalidParameter):
        compile_run_search([1], "ALL", parse_run_filter(text), [])
    with contextlib.suppress(InvalidParameter):
        compile_experiment_search("ALL", parse_experiment_filter(text), [], 0, 10)
    with contextlib.suppress(InvalidParameter):
        compile_run_search([1], "ALL", [], parse_run_order_by([text]))
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
    return "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)


def _quoted(draw: st.DrawFn, text: str, quotes: str) -> str:
    quote = draw(st.sampled_from(quotes))
    return quote + text.replace(quote, quote * 2) + quote


def _key(draw: st.DrawFn, key: str) -> str:
    if _BARE_KEY.fullmatch(key) and draw(st.booleans()):
        return key
    return _quoted(draw, key, '`"')


def _string(draw: st.DrawFn, value: str) -> str:
    return _quoted(draw, value, "'\"")


def _comparator(draw: st.DrawFn, op: Operator) -> str:
    return _any_case(draw, op) if op[0].isalpha() else op


def _clause(
    draw: st.DrawFn, entity: Entity, key: str, target: str, ops: list[Operator]
) -> tuple[str, Comparison]:
    """A string comparison on ``target``: a single value, a list or a null test."""
    op = draw(st.sampled_from(ops))
    spelled = f"{target}{_spaced(draw)}{_comparator(draw, op)}"
    if op in ("IS NULL", "IS NOT NULL"):
        return spelled, Comparison(entity, key, op, None)

    if op in _LIST_OPS:
        values = tuple(draw(st.lists(storable_text, min_size=1, max_size=4)))
        items = ", ".join(_string(draw, v) for v in values)
        trailing = draw(st.sampled_from(["", ","]))
        text = f"{spelled}{_spaced(draw)}({items}{trailing})"
        return text, Comparison(entity, key, op, values)

    value = draw(storable_text)
    text = f"{spelled}{_spaced(draw)}{_string(draw, value)}"
    return text, Comparison(entity, key, op, value)


def _numeric_clause(
    draw: st.DrawFn, key: str, target: str, number: int | float
) -> tuple[str, Comparison]:
    op = draw(st.sampled_from(_NUMERIC_OPS))
    text = f"{target} {op} {number!r}"
    return text, Comparison("attribute", key, op, number)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)
bigints = st.integers(-(2**63), _INT64_MAX)
_KEYED_PREFIXES: dict[Entity, list[str]] = {
    "param": ["param", "params", "parameter", "parameters"],
    "tag": ["tag", "tags"],
}
_RUN_STRING_SPELLINGS = [
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("`run name`", "run_name"),
    ('"Run Name"', "run_name"),
    ("status", "status"),
    ("user_id", "user_id"),
    ("artifact_uri", "artifact_uri"),
]
_RUN_NUMERIC_SPELLINGS = [
    ("start_time", "start_time"),
    ("end_time", "end_time"),
    ("created", "start_time"),
    ("Created", "start_time"),
]


@st.composite
def run_comparisons(draw: st.DrawFn) -> tuple[str, Comparison]:
    """A run clause as text, and the comparison it should parse to."""
    kind = draw(st.sampled_from(["metric", "keyed", "string", "number", "dataset"]))
    if kind == "metric":
        key = draw(storable_text)
        op = draw(st.sampled_from(_NUMERIC_OPS))
        value = draw(finite_floats)
        prefix = draw(st.sampled_from(["metric", "metrics"]))
        text = f"{prefix}.{_key(draw, key)} {op} {value!r}"
        return text, Comparison("metric", key, op, value)

    if kind == "keyed":
        entity = draw(st.sampled_from(list(_KEYED_PREFIXES)))
        key = draw(storable_text)
        prefix = draw(st.sampled_from(_KEYED_PREFIXES[entity]))
        return _clause(draw, entity, key, f"{prefix}.{_key(draw, key)}", _KEYED_OPS)

    if kind == "number":
        spelling, key = draw(st.sampled_from(_RUN_NUMERIC_SPELLINGS))
        number = draw(st.one_of(bigints, finite_floats))
        return _numeric_clause(draw, key, _attribute_target(draw, spelling), number)

    if kind == "string":
        spelling, key = draw(st.sampled_from(_RUN_STRING_SPELLINGS))
        ops = _STRING_OPS + (_LIST_OPS if key == "run_id" else [])
        return _clause(draw, "attribute", key, _attribute_target(draw, spelling), ops)

    key = draw(st.sampled_from(["name", "digest", "context"]))
    target = f"{draw(st.sampled_from(['dataset', 'datasets']))}.{key}"
    return _clause(draw, "dataset", key, target, _STRING_OPS + _LIST_OPS)


def _attribute_target(draw: st.DrawFn, spelling: str) -> str:
    prefix = draw(st.sampled_from(["", "attribute.", "attributes.", "attr.", "run."]))
    return prefix + spelling


@st.composite
def experiment_comparisons(draw: st.DrawFn) -> tuple[str, Comparison]:
    """An experiment clause as text, and the comparison it should parse to."""
    kind = draw(st.sampled_from(["name", "id", "time", "tag"]))
    prefix = draw(st.sampled_from(["", "attribute.", "attributes."]))
    if kind == "name":
        return _clause(draw, "attribute", "name", f"{prefix}name", _STRING_OPS)

    if kind == "id":
        numbers = draw(st.lists(st.integers(0, _INT64_MAX), min_size=1, max_size=4))
        ids = tuple(str(n) for n in numbers)
        op = draw(st.sampled_from(["=", "!=", *_LIST_OPS]))
        target = f"{prefix}experiment_id {_comparator(draw, op)}"
        if op in _LIST_OPS:
            listed = ", ".join(_string(draw, i) for i in ids)
            text = f"{target} ({listed})"
            return text, Comparison("attribute", "experiment_id", op, ids)
        text = f"{target} {_string(draw, ids[0])}"
        return text, Comparison("attribute", "experiment_id", op, ids[0])

    if kind == "time":
        key = draw(st.sampled_from(["creation_time", "last_update_time"]))
        return _numeric_clause(draw, key, prefix + key, draw(bigints))

    key = draw(storable_text)
    target = f"{draw(st.sampled_from(['tag', 'tags']))}.{_key(draw, key)}"
    return _clause(draw, "tag", key, target, _KEYED_OPS)


def _joined(draw: st.DrawFn, clauses: list[tuple[str, Comparison]]) -> str:
    text = ""
    for index, (clause, _) in enumerate(clauses):
        if index:
            text += f"{_spaced(draw)}{_any_case(draw, 'and')}{_spaced(draw)}"
        text += clause
    return text


@st.composite
def run_filters(draw: st.DrawFn) -> tuple[str, list[Comparison]]:
    clauses = draw(st.lists(run_comparisons(), max_size=4))
    return _joined(draw, clauses), [comparison for _, comparison in clauses]


@st.composite
def experiment_filters(draw: st.DrawFn) -> tuple[str, list[Comparison]]:
    clauses = draw(st.lists(experiment_comparisons(), max_size=4))
    return _joined(draw, clauses), [comparison for _, comparison in clauses]


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
    """A valid filter cut short, or with one character dropped, added or doubled."""
    text = draw(texts)
    at = draw(st.integers(0, len(text)))
    edit = draw(st.sampled_from(["cut", "drop", "add", "double"]))
    if edit == "cut":
        return text[:at]
    if edit == "drop":
        return text[:at] + text[at + 1 :]
    if edit == "double":
        return text[:at] + text[at : at + 2] * 2 + text[at + 2 :]
    return text[:at] + draw(st.sampled_from("'\"`().,=<>! -1eANDOR")) + text[at:]


def _text_of(case: tuple[str, list[Comparison]]) -> str:
    return case[0]


@fuzz
@given(
    st.one_of(
        mutated(run_filters().map(_text_of)),
        mutated(experiment_filters().map(_text_of)),
    )
)
def test_near_valid_filters_raise_nothing_but_invalid_parameter(text: str) -> None:
    _search_with(text)


# Order keys.

_ORDER_PREFIXES: list[tuple[str, Entity]] = [
    ("metrics", "metric"),
    ("params", "param"),
    ("tags", "tag"),
]


@st.composite
def run_orders(draw: st.DrawFn) -> tuple[list[str], list[OrderKey]]:
    items: list[str] = []
    keys: list[OrderKey] = []
    for _ in range(draw(st.integers(0, 4))):
        prefix, entity = draw(st.sampled_from(_ORDER_PREFIXES))
        key = draw(storable_text)
        if any((k.entity, k.key) == (entity, key) for k in keys):
            continue
        direction = draw(st.sampled_from(["", " asc", " ASC", " desc", " DESC"]))
        items.append(f"{prefix}.{_key(draw, key)}{direction}")
        keys.append(OrderKey(entity, key, "desc" not in direction.lower()))
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


def _blank(comparison: Comparison, names: dict[str, str]) -> Comparison:
    """The same comparison with every free key and value replaced.

    Keys are renamed through ``names``, so keys that were equal stay equal:
    whether a filter compares the order's first metric shapes the search.
    """
    value = comparison.value
    blank: Value
    if isinstance(value, tuple):
        blank = ("0",) * len(value)
    elif isinstance(value, str):
        blank = "0"
    elif isinstance(value, int | float):
        blank = type(value)(0)
    else:
        blank = None
    free_key = comparison.entity in ("metric", "param", "tag")
    key = _renamed(comparison.key, names) if free_key else comparison.key
    return Comparison(comparison.entity, key, comparison.op, blank)


def _renamed(key: str, names: dict[str, str]) -> str:
    return names.setdefault(key, f"k{len(names)}")


@fuzz
@given(
    run_filters(),
    run_orders(),
    _VIEW_TYPES,
    st.sampled_from([([1], [7]), ([1, 2], [7, 8])]),
)
def test_run_sql_binds_every_key_and_value(
    case: tuple[str, list[Comparison]],
    order_case: tuple[list[str], list[OrderKey]],
    view_type: str,
    experiments: tuple[list[int], list[int]],
) -> None:
    _, comparisons = case
    _, order = order_case
    names: dict[str, str] = {}
    blank_order = [
        OrderKey(k.entity, _renamed(k.key, names), k.ascending) for k in order
    ]
    searched, other = experiments

    segments = compile_run_search(searched, view_type, comparisons, order)
    blank_segments = compile_run_search(
        other, "ALL", [_blank(c, names) for c in comparisons], blank_order
    )

    assert [(s.select, s.count, s.resume) for s in segments] == [
        (s.select, s.count, s.resume) for s in blank_segments
    ]
    for segment in segments:
        bound = set(range(1, len(segment.values) + 1))
        assert _placeholders(segment.count) == bound
        # The select's two last placeholders take the OFFSET and the LIMIT.
        assert _placeholders(segment.select) == bound | {len(bound) + 1, len(bound) + 2}
        # The resume's four take the last run's order key and the LIMIT.
        if segment.resume is not None:
            extra = set(range(len(bound) + 1, len(bound) + 5))
            assert _placeholders(segment.resume) == bound | extra


@fuzz
@given(experiment_filters(), _VIEW_TYPES)
def test_experiment_sql_binds_every_key_and_value(
    case: tuple[str, list[Comparison]], view_type: str
) -> None:
    _, comparisons = case

    statement, values = compile_experiment_search(view_type, comparisons, [], 3, 4)
    blank_statement, _ = compile_experiment_search(
        "ALL", [_blank(c, {}) for c in comparisons], [], 0, 0
    )

    assert statement == blank_statement
    assert _placeholders(statement) == set(range(1, len(values) + 1))


@pytest.mark.parametrize("view_type", ["ACTIVE", "all", ""])
def test_unknown_view_type_is_rejected(view_type: str) -> None:
    with pytest.raises(InvalidParameter, match="Invalid"):
        compile_run_search([1], view_type, [], [])
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
    with contextlib.suppress(InvalidParameter):
        decode_offset(token)
