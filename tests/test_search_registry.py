"""The registry's search grammars, and what the compiled statements leave out."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.search.filters import Comparison, OrderKey
from projections.search.registry_filters import (
    parse_model_version_filter,
    parse_model_version_order,
    parse_registered_model_filter,
    parse_registered_model_order,
)
from projections.search.registry_query import (
    compile_model_version_search,
    compile_registered_model_search,
)
from tracker.errors import InvalidParameter

fuzz = settings(database=None, max_examples=300)
PROMPT_FILTER = "tag.`mlflow.prompt.is_prompt` != 'true'"


def test_the_clients_default_model_filter_is_a_tag_comparison() -> None:
    assert parse_registered_model_filter(PROMPT_FILTER) == [
        Comparison("tag", "mlflow.prompt.is_prompt", "!=", "true")
    ]


def test_the_clients_default_filter_leaves_prompts_out_rather_than_tags_in() -> None:
    statement, values = compile_registered_model_search(PROMPT_FILTER, [], 0, 10)

    assert "NOT EXISTS" in statement
    assert "EXISTS (SELECT 1 FROM registry_rm.registered_model_tags AS t" not in (
        statement
    )
    assert values[:2] == ["mlflow.prompt.is_prompt", "true"]


def test_asking_for_prompts_keeps_the_prompt_clause() -> None:
    statement, _ = compile_registered_model_search(
        "tags.`mlflow.prompt.is_prompt` = 'true'", [], 0, 10
    )

    assert "NOT EXISTS" not in statement


def test_model_names_compare_with_lists() -> None:
    assert parse_registered_model_filter("name IN ('a', 'b')") == [
        Comparison("attribute", "name", "IN", ("a", "b"))
    ]


def test_a_quoted_version_number_compares_as_a_number() -> None:
    assert parse_model_version_filter("version_number = '3'") == [
        Comparison("attribute", "version_number", "=", 3)
    ]


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("source_path IN ('a')", "support comparison with a list"),
        ("run_id = 5", "numeric values"),
        ("version_number = 1.5", "Invalid value for numeric attribute"),
        ("version_number LIKE '1'", "Invalid comparator"),
        ("tags.t IS NOT NULL", "not supported for model version search"),
        ("metrics.acc > 1", "Invalid entity type"),
    ],
)
def test_model_version_filters_mlflow_refuses_are_invalid(
    text: str, complaint: str
) -> None:
    with pytest.raises(InvalidParameter, match=complaint):
        parse_model_version_filter(text)


def test_timestamp_orders_models_by_their_last_update() -> None:
    assert parse_registered_model_order(["timestamp DESC"]) == [
        OrderKey("attribute", "last_updated_timestamp", False)
    ]


def test_an_order_key_given_twice_is_invalid() -> None:
    with pytest.raises(InvalidParameter, match="duplicate fields"):
        parse_model_version_order(["name", "attribute.name DESC"])


def test_versions_without_order_keys_come_most_recently_updated_first() -> None:
    statement, _ = compile_model_version_search(None, [], 0, 10)

    assert (
        'ORDER BY v.last_update_time DESC, m.name COLLATE "C", v.version DESC'
        in statement
    )


@fuzz
@given(st.text(max_size=60))
def test_any_filter_text_compiles_or_is_refused_as_invalid(text: str) -> None:
    for compile_search in (
        compile_registered_model_search,
        compile_model_version_search,
    ):
        with contextlib.suppress(InvalidParameter):
            compile_search(text, [], 0, 10)
