"""MLflow 3's logged-model search: what the grammar accepts, and the SQL's shape."""

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.search.filters import Comparison, Operator, OrderKey
from projections.search.logged_model_filters import (
    parse_logged_model_filter,
    parse_logged_model_order,
)
from projections.search.logged_model_query import compile_logged_model_search
from tracker.errors import InvalidParameter

# No example database, so a run does not depend on what earlier runs found
# (hypothesis still keeps caches in .hypothesis/, which git ignores).
fuzz = settings(database=None, max_examples=300)

# Filters: what the stock clients send.


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_filter_has_no_comparisons(text: str | None) -> None:
    assert parse_logged_model_filter(text) == []


def test_artifact_listing_filter_compares_the_name() -> None:
    assert parse_logged_model_filter("name = 'model'") == [
        Comparison("attribute", "name", "=", "model")
    ]


# String attributes.


@pytest.mark.parametrize("key", ["name", "model_id", "model_type", "source_run_id"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_string_attributes_take_string_comparators(key: str, op: Operator) -> None:
    assert parse_logged_model_filter(f"{key} {op} 'x%'") == [
        Comparison("attribute", key, op, "x%")
    ]


@pytest.mark.parametrize("key", ["name", "model_id", "model_type", "source_run_id"])
def test_string_attributes_take_lists(key: str) -> None:
    assert parse_logged_model_filter(f"{key} NOT IN ('a', \"b\")") == [
        Comparison("attribute", key, "NOT IN", ("a", "b"))
    ]


def test_attribute_prefix_is_optional() -> None:
    assert parse_logged_model_filter("attributes.model_type = 'sklearn'") == [
        Comparison("attribute", "model_type", "=", "sklearn")
    ]


def test_string_attribute_needs_a_quoted_string() -> None:
    with pytest.raises(InvalidParameter, match="Expected a quoted string value"):
        parse_logged_model_filter("name = 5")


def test_string_attribute_rejects_ordering_comparators() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator '>'"):
        parse_logged_model_filter("name > 'a'")


@pytest.mark.parametrize(
    "key", ["experiment_id", "artifact_location", "lifecycle_stage", "run_id"]
)
def test_other_attributes_are_rejected(key: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Invalid attribute key '{key}'"):
        parse_logged_model_filter(f"{key} = '1'")


# Times.


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("creation_timestamp", "creation_timestamp"),
        ("creation_time", "creation_timestamp"),
        ("last_updated_timestamp", "last_updated_timestamp"),
        ("last_updated_time", "last_updated_timestamp"),
    ],
)
def test_time_spellings_name_one_attribute(spelling: str, key: str) -> None:
    assert parse_logged_model_filter(f"{spelling} >= 1700000000000") == [
        Comparison("attribute", key, ">=", 1700000000000)
    ]


def test_time_takes_a_fraction_as_a_float() -> None:
    assert parse_logged_model_filter("creation_time < 2.5") == [
        Comparison("attribute", "creation_timestamp", "<", 2.5)
    ]


def test_time_needs_a_number() -> None:
    with pytest.raises(InvalidParameter, match="Expected numeric value type"):
        parse_logged_model_filter("creation_time = '5'")


def test_time_rejects_like() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator 'LIKE'"):
        parse_logged_model_filter("last_updated_timestamp LIKE 5")


# Status.


@pytest.mark.parametrize(
    ("spelling", "stored"),
    [
        ("READY", "LOGGED_MODEL_READY"),
        ("LOGGED_MODEL_READY", "LOGGED_MODEL_READY"),
        ("PENDING", "LOGGED_MODEL_PENDING"),
        ("FAILED", "LOGGED_MODEL_UPLOAD_FAILED"),
        ("LOGGED_MODEL_UPLOAD_FAILED", "LOGGED_MODEL_UPLOAD_FAILED"),
        ("UNSPECIFIED", "LOGGED_MODEL_STATUS_UNSPECIFIED"),
    ],
)
def test_status_takes_either_spelling_as_the_stored_name(
    spelling: str, stored: str
) -> None:
    assert parse_logged_model_filter(f"status = '{spelling}'") == [
        Comparison("attribute", "status", "=", stored)
    ]


def test_status_list_takes_the_stored_names() -> None:
    assert parse_logged_model_filter("status IN ('READY', 'LOGGED_MODEL_PENDING')") == [
        Comparison(
            "attribute", "status", "IN", ("LOGGED_MODEL_READY", "LOGGED_MODEL_PENDING")
        )
    ]


@pytest.mark.parametrize("value", ["ready", "DONE", ""])
def test_unknown_status_is_rejected(value: str) -> None:
    with pytest.raises(InvalidParameter, match="Unknown model status in filter"):
        parse_logged_model_filter(f"status = '{value}'")


def test_status_rejects_like() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator 'LIKE'"):
        parse_logged_model_filter("status LIKE 'READY'")


# Metrics, params and tags.


def test_metric_comparison_holds_a_float() -> None:
    assert parse_logged_model_filter("metrics.accuracy >= 1") == [
        Comparison("metric", "accuracy", ">=", 1.0)
    ]


def test_metric_needs_a_number() -> None:
    with pytest.raises(InvalidParameter, match="Expected numeric value type"):
        parse_logged_model_filter("metrics.accuracy > '0.9'")


def test_metric_rejects_like() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator 'LIKE'"):
        parse_logged_model_filter("metrics.accuracy LIKE 1")


@pytest.mark.parametrize(
    ("prefix", "entity"),
    [
        ("metric", "metric"),
        ("param", "param"),
        ("params", "param"),
        ("parameters", "param"),
        ("tag", "tag"),
        ("tags", "tag"),
    ],
)
def test_entity_aliases_name_one_entity(prefix: str, entity: str) -> None:
    value = "1" if entity == "metric" else "'1'"

    (comparison,) = parse_logged_model_filter(f"{prefix}.`a b` = {value}")

    assert (comparison.entity, comparison.key) == (entity, "a b")


@pytest.mark.parametrize("entity", ["params", "tags"])
@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
def test_params_and_tags_take_string_comparators(entity: str, op: str) -> None:
    (comparison,) = parse_logged_model_filter(f"{entity}.k {op} 'v'")

    assert (comparison.op, comparison.value) == (op, "v")


@pytest.mark.parametrize("clause", ["tags.k IN ('v')", "params.k IS NULL"])
def test_params_and_tags_reject_lists_and_null_tests(clause: str) -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator"):
        parse_logged_model_filter(clause)


@pytest.mark.parametrize("prefix", ["datasets", "dataset", "models"])
def test_other_entities_are_rejected(prefix: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Invalid entity type '{prefix}'"):
        parse_logged_model_filter(f"{prefix}.name = 'x'")


def test_clauses_join_with_and_only() -> None:
    assert len(parse_logged_model_filter("name = 'a' and metrics.m > 1")) == 2
    with pytest.raises(InvalidParameter, match=r"Invalid clause\(s\).*'OR'"):
        parse_logged_model_filter("name = 'a' OR name = 'b'")


# Order fields.


def test_no_order_fields_have_no_keys() -> None:
    assert parse_logged_model_order([]) == []


def test_order_time_spellings_name_one_attribute() -> None:
    assert parse_logged_model_order(
        [("creation_time", False), ("last_updated_time", True)]
    ) == [
        OrderKey("attribute", "creation_timestamp", False),
        OrderKey("attribute", "last_updated_timestamp", True),
    ]


def test_order_metric_key_is_everything_after_the_first_dot() -> None:
    assert parse_logged_model_order([("metrics.eval.loss", True)]) == [
        OrderKey("metric", "eval.loss", True)
    ]


def test_order_by_params_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r"only `metrics\.<name>` is allowed"):
        parse_logged_model_order([("params.lr", True)])


def test_order_by_unknown_attribute_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid order by field name: size"):
        parse_logged_model_order([("size", True)])


def test_order_field_must_be_named() -> None:
    with pytest.raises(InvalidParameter, match=r"`field_name` .* must be specified"):
        parse_logged_model_order([("", True)])


# The SQL.


def _order_clause(statement: str) -> str:
    return statement.split("ORDER BY ", 1)[1].split("\nOFFSET", 1)[0]


def test_default_order_is_newest_first_then_model_id() -> None:
    statement, _ = compile_logged_model_search([1], "", [], 0, 10)

    assert _order_clause(statement) == "m.creation_time DESC,\n  m.model_id"


def test_ordering_by_creation_time_and_model_id_drops_those_tie_breakers() -> None:
    statement, _ = compile_logged_model_search(
        [1], None, [("creation_time", True), ("model_id", False)], 0, 10
    )

    assert _order_clause(statement) == "m.creation_time ASC,\n  m.model_id DESC"


def test_only_active_models_are_searched() -> None:
    statement, _ = compile_logged_model_search([1], None, [], 0, 10)

    assert "m.lifecycle_stage = 'active'" in statement


def test_unknown_order_field_is_rejected_when_compiling() -> None:
    with pytest.raises(InvalidParameter, match="Invalid order by field name"):
        compile_logged_model_search([1], None, [("stage", True)], 0, 10)


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, -1)])
def test_negative_offset_or_limit_is_rejected(offset: int, limit: int) -> None:
    with pytest.raises(InvalidParameter, match="expected a whole number >= 0"):
        compile_logged_model_search([1], None, [], offset, limit)


def test_every_key_and_value_is_bound() -> None:
    filter_text = (
        "name LIKE 'n%' AND status IN ('READY') AND creation_time > 7"
        " AND metrics.`m k` <= 0.5 AND params.p = 'pv' AND tags.t != 'tv'"
    )
    order = [("metrics.o k", False), ("name", True)]

    statement, values = compile_logged_model_search([3], filter_text, order, 2, 9)

    placeholders = {int(n) for n in re.findall(r"\$(\d+)", statement)}
    assert placeholders == set(range(1, len(values) + 1))
    for value in ["n%", "READY", "m k", "pv", "tv", "o k"]:
        assert value not in statement


_FRAGMENTS = """
    name model_id status creation_time metrics.m params.p tags.t datasets.d
    'READY' 'x' "y" `k` 1 -2.5 ( ) , = != < >= LIKE ilike IN NOT IS NULL AND or
"""
token_soup = st.lists(st.sampled_from(_FRAGMENTS.split()), max_size=10).map(" ".join)


@fuzz
@given(st.one_of(st.text(max_size=40), token_soup), st.text(max_size=20))
def test_any_request_raises_nothing_but_invalid_parameter(
    filter_text: str, field_name: str
) -> None:
    with contextlib.suppress(InvalidParameter):
        compile_logged_model_search([1], filter_text, [], 0, 10)
    with contextlib.suppress(InvalidParameter):
        compile_logged_model_search([1], None, [(field_name, False)], 0, 10)
