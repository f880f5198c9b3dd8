"""The MLflow search grammar: what the filter and order_by parsers accept."""

import pytest

from projections.search.filters import (
    Comparison,
    OrderKey,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from tracker.errors import InvalidParameter

# Run filters: shape of the language.


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_filter_has_no_comparisons(text: str | None) -> None:
    assert parse_run_filter(text) == []


def test_metric_comparison_holds_a_float() -> None:
    assert parse_run_filter("metrics.loss < 1") == [
        Comparison("metric", "loss", "<", 1.0)
    ]


@pytest.mark.parametrize(
    ("prefix", "entity"),
    [
        ("metric", "metric"),
        ("metrics", "metric"),
        ("param", "param"),
        ("params", "param"),
        ("parameter", "param"),
        ("parameters", "param"),
        ("tag", "tag"),
        ("tags", "tag"),
    ],
)
def test_entity_aliases_name_one_entity(prefix: str, entity: str) -> None:
    value = "1" if entity == "metric" else "'1'"

    (comparison,) = parse_run_filter(f"{prefix}.k = {value}")

    assert (comparison.entity, comparison.key) == (entity, "k")


@pytest.mark.parametrize("prefix", ["attribute", "attributes", "attr", "run"])
def test_attribute_aliases_name_attributes(prefix: str) -> None:
    assert parse_run_filter(f"{prefix}.status = 'FAILED'") == [
        Comparison("attribute", "status", "=", "FAILED")
    ]


@pytest.mark.parametrize("prefix", ["dataset", "datasets"])
def test_dataset_aliases_name_datasets(prefix: str) -> None:
    assert parse_run_filter(f"{prefix}.digest = 'abc'") == [
        Comparison("dataset", "digest", "=", "abc")
    ]


def test_bare_key_is_an_attribute() -> None:
    assert parse_run_filter("status = 'RUNNING'") == [
        Comparison("attribute", "status", "=", "RUNNING")
    ]


def test_backticked_key_may_hold_spaces_and_dots() -> None:
    assert parse_run_filter("tags.`mlflow.user name` = 'x'") == [
        Comparison("tag", "mlflow.user name", "=", "x")
    ]


def test_double_quoted_key_may_hold_spaces() -> None:
    assert parse_run_filter("params.\"a b\" = 'x'") == [
        Comparison("param", "a b", "=", "x")
    ]


def test_backticked_entity_is_accepted() -> None:
    assert parse_run_filter("`metrics`.a > 1") == [Comparison("metric", "a", ">", 1.0)]


def test_unquoted_key_may_hold_dots() -> None:
    assert parse_run_filter("tags.mlflow.runName = 'x'") == [
        Comparison("tag", "mlflow.runName", "=", "x")
    ]


def test_partly_quoted_key_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Quote the whole key"):
        parse_run_filter("tags.mlflow.`run Name` = 'x'")


def test_double_quoted_value_is_a_string() -> None:
    assert parse_run_filter('params.a = "x"') == [Comparison("param", "a", "=", "x")]


def test_doubled_quote_in_a_string_stands_for_one_quote() -> None:
    assert parse_run_filter("tags.q = 'it''s'") == [Comparison("tag", "q", "=", "it's")]


def test_other_quote_needs_no_escape_in_a_string() -> None:
    assert parse_run_filter('tags.q = "it\'s"') == [Comparison("tag", "q", "=", "it's")]


def test_backslash_is_kept_for_like_patterns() -> None:
    assert parse_run_filter(r"tags.q LIKE '100\%'") == [
        Comparison("tag", "q", "LIKE", r"100\%")
    ]


def test_and_joins_clauses_in_any_case() -> None:
    assert parse_run_filter("params.a != 'x' and tags.t = 'y' AnD metrics.m > 0") == [
        Comparison("param", "a", "!=", "x"),
        Comparison("tag", "t", "=", "y"),
        Comparison("metric", "m", ">", 0.0),
    ]


def test_stray_ands_are_ignored_as_mlflow_ignores_them() -> None:
    assert parse_run_filter("AND params.a = 'x' AND AND") == [
        Comparison("param", "a", "=", "x")
    ]


def test_keyword_comparators_are_case_insensitive() -> None:
    assert parse_run_filter(
        "params.a like 'x%' and tags.t ilike 'Y' and run_id not in ('r') "
        "and tags.u is not null"
    ) == [
        Comparison("param", "a", "LIKE", "x%"),
        Comparison("tag", "t", "ILIKE", "Y"),
        Comparison("attribute", "run_id", "NOT IN", ("r",)),
        Comparison("tag", "u", "IS NOT NULL", None),
    ]


def test_or_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r"Invalid clause\(s\).*'OR'"):
        parse_run_filter("metrics.h > 1 OR params.p = '1'")


def test_parentheses_around_a_clause_are_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r"Invalid clause\(s\).*'\('"):
        parse_run_filter("(metrics.a > 1)")


def test_not_before_a_clause_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r"Invalid clause\(s\).*'NOT'"):
        parse_run_filter("NOT metrics.a > 1")


def test_clauses_without_and_between_them_are_rejected() -> None:
    with pytest.raises(InvalidParameter, match=r"Invalid clause\(s\)"):
        parse_run_filter("metrics.a > 1 metrics.b > 2")


@pytest.mark.parametrize("text", ["metrics.a", "metrics.a >", "tags.t IS 'x'"])
def test_incomplete_clause_is_rejected(text: str) -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparison clause"):
        parse_run_filter(text)


def test_semicolon_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="unexpected character ';'"):
        parse_run_filter("metrics.a > 1;")


def test_unterminated_string_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="unterminated ' quote"):
        parse_run_filter("tags.t = 'x")


def test_nul_character_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Error on parsing filter"):
        parse_run_filter("tags.t = 'a\x00b'")


def test_unknown_entity_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid entity type 'foo'"):
        parse_run_filter("foo.bar = 1")


# Run filters: comparators and values per entity.


@pytest.mark.parametrize(
    ("text", "value"),
    [("-1.5e3", -1500.0), ("1.", 1.0), (".5", 0.5), ("2E+2", 200.0)],
)
def test_metric_values_take_signed_decimal_and_exponent_forms(
    text: str, value: float
) -> None:
    assert parse_run_filter(f"metrics.m >= {text}") == [
        Comparison("metric", "m", ">=", value)
    ]


def test_metric_needs_a_numeric_value() -> None:
    with pytest.raises(
        InvalidParameter, match="Expected numeric value type for metric"
    ):
        parse_run_filter('metrics.a > "1"')


def test_metric_rejects_like() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator 'LIKE'"):
        parse_run_filter("metrics.a LIKE 1")


@pytest.mark.parametrize("op", ["==", "<>", "=~"])
def test_comparators_mlflow_lacks_are_rejected(op: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Invalid comparator '{op}'"):
        parse_run_filter(f"metrics.a {op} 1")


def test_not_like_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator 'NOT LIKE'"):
        parse_run_filter("params.a NOT LIKE 'x'")


def test_param_needs_a_quoted_string() -> None:
    with pytest.raises(InvalidParameter, match="Expected a quoted string value"):
        parse_run_filter("params.a = 1")


@pytest.mark.parametrize("value", ["x", "`x`"])
def test_unquoted_or_backticked_value_is_rejected(value: str) -> None:
    with pytest.raises(InvalidParameter, match="either not quoted"):
        parse_run_filter(f"params.a = {value}")


def test_null_is_not_a_value() -> None:
    with pytest.raises(InvalidParameter, match="Expected value token found 'NULL'"):
        parse_run_filter("tags.t = NULL")


@pytest.mark.parametrize("entity", ["params", "tags"])
def test_params_and_tags_take_is_null(entity: str) -> None:
    (comparison,) = parse_run_filter(f"{entity}.k IS NULL")

    assert (comparison.op, comparison.value) == ("IS NULL", None)


@pytest.mark.parametrize("target", ["metrics.m", "status", "datasets.name"])
def test_is_null_elsewhere_is_rejected(target: str) -> None:
    with pytest.raises(InvalidParameter, match="only supported for tags and params"):
        parse_run_filter(f"{target} IS NOT NULL")


def test_run_id_takes_a_list() -> None:
    assert parse_run_filter("run_id IN (\"a\", 'b')") == [
        Comparison("attribute", "run_id", "IN", ("a", "b"))
    ]


def test_list_may_end_with_a_comma() -> None:
    assert parse_run_filter("run_id IN ('a',)") == [
        Comparison("attribute", "run_id", "IN", ("a",))
    ]


def test_other_string_attributes_reject_lists() -> None:
    with pytest.raises(InvalidParameter, match=r"Only \['run_id'\] attributes"):
        parse_run_filter('attributes.run_name IN ("x")')


def test_empty_list_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="but got empty list"):
        parse_run_filter("run_id IN ()")


def test_list_of_numbers_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="got different type in list"):
        parse_run_filter("run_id IN ('a', 1)")


@pytest.mark.parametrize(
    "text", ["run_id IN ('a' 'b')", "run_id IN 'a'", "run_id IN (,)"]
)
def test_ill_formed_list_is_rejected(text: str) -> None:
    with pytest.raises(InvalidParameter, match="ill-formed list"):
        parse_run_filter(text)


def test_single_value_comparator_rejects_a_list() -> None:
    with pytest.raises(InvalidParameter, match=r"Expected value token found '\('"):
        parse_run_filter("run_id = ('a')")


def test_numeric_attribute_keeps_whole_numbers_whole() -> None:
    assert parse_run_filter("start_time > 5 AND end_time < 5.5") == [
        Comparison("attribute", "start_time", ">", 5),
        Comparison("attribute", "end_time", "<", 5.5),
    ]


def test_whole_number_beyond_bigint_becomes_a_float() -> None:
    (comparison,) = parse_run_filter("start_time < 99999999999999999999")

    assert comparison.value == 1e20


def test_numeric_attribute_needs_a_number() -> None:
    with pytest.raises(InvalidParameter, match="numeric attribute: start_time"):
        parse_run_filter('attributes.start_time = "5"')


def test_string_attribute_rejects_ordering_comparators() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator '>'"):
        parse_run_filter("status > 'A'")


@pytest.mark.parametrize("alias", ["`run name`", "`Run name`", '"Run Name"'])
def test_run_name_aliases_mean_run_name(alias: str) -> None:
    assert parse_run_filter(f"attributes.{alias} = 'x'") == [
        Comparison("attribute", "run_name", "=", "x")
    ]


@pytest.mark.parametrize("alias", ["created", "Created"])
def test_created_means_start_time(alias: str) -> None:
    assert parse_run_filter(f"{alias} >= 10") == [
        Comparison("attribute", "start_time", ">=", 10)
    ]


@pytest.mark.parametrize("key", ["lifecycle_stage", "experiment_id", "Status"])
def test_unknown_attribute_is_rejected(key: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Invalid attribute key '{key}'"):
        parse_run_filter(f"attributes.{key} = 'x'")


@pytest.mark.parametrize("key", ["name", "digest", "context"])
def test_dataset_keys_take_strings_and_lists(key: str) -> None:
    assert parse_run_filter(
        f"datasets.{key} = 'a' AND datasets.{key} NOT IN ('b')"
    ) == [
        Comparison("dataset", key, "=", "a"),
        Comparison("dataset", key, "NOT IN", ("b",)),
    ]


def test_unknown_dataset_key_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid dataset key 'source'"):
        parse_run_filter("datasets.source = 'x'")


# Appendix B of the REST reference: what the stock parser does with these.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('attributes.run_name = "x"', Comparison("attribute", "run_name", "=", "x")),
        ('run_id IN ("a","b")', Comparison("attribute", "run_id", "IN", ("a", "b"))),
        ("metrics.`my metric` > 0.5", Comparison("metric", "my metric", ">", 0.5)),
        ('params."a b" LIKE "%x"', Comparison("param", "a b", "LIKE", "%x")),
        ("tags.t IS NULL", Comparison("tag", "t", "IS NULL", None)),
        ('datasets.name IN ("a")', Comparison("dataset", "name", "IN", ("a",))),
        ("attributes.start_time > 5", Comparison("attribute", "start_time", ">", 5)),
    ],
)
def test_appendix_b_filters_that_parse(text: str, expected: Comparison) -> None:
    assert parse_run_filter(text) == [expected]


def test_appendix_b_lower_case_and_parses() -> None:
    assert parse_run_filter('params.a != "x" and tags.t = "y"') == [
        Comparison("param", "a", "!=", "x"),
        Comparison("tag", "t", "=", "y"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.h > 1 OR params.p = '1'", r"Invalid clause\(s\) in .*: 'OR'"),
        ("foo.bar = 1", "Invalid entity type 'foo'"),
        ('metrics.a > "1"', "Expected numeric value type"),
        ("params.a = 1", "Expected a quoted string value"),
        ('attributes.run_name IN ("x")', r"Only \['run_id'\] attributes support"),
        ('attributes.start_time = "5"', "Expected numeric value type"),
        ('attributes.lifecycle_stage = "active"', "Invalid attribute key"),
    ],
)
def test_appendix_b_filters_that_are_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_run_filter(text)


# Experiment filters.


def test_experiment_name_takes_string_comparators() -> None:
    assert parse_experiment_filter("name LIKE 'a%' AND attributes.name != 'b'") == [
        Comparison("attribute", "name", "LIKE", "a%"),
        Comparison("attribute", "name", "!=", "b"),
    ]


def test_experiment_id_list_keeps_mlflow_strings() -> None:
    assert parse_experiment_filter("experiment_id IN ('1', '22')") == [
        Comparison("attribute", "experiment_id", "IN", ("1", "22"))
    ]


def test_experiment_id_must_be_a_whole_number() -> None:
    with pytest.raises(InvalidParameter, match="Invalid experiment ID 'abc'"):
        parse_experiment_filter("experiment_id = 'abc'")


def test_experiment_id_must_fit_a_bigint() -> None:
    with pytest.raises(InvalidParameter, match="Invalid experiment ID"):
        parse_experiment_filter("experiment_id IN ('1', '99999999999999999999')")


def test_experiment_id_must_be_quoted() -> None:
    with pytest.raises(InvalidParameter, match="Expected a quoted string value"):
        parse_experiment_filter("experiment_id = 1")


def test_experiment_id_rejects_like() -> None:
    with pytest.raises(InvalidParameter, match="Invalid comparator for experiment_id"):
        parse_experiment_filter("experiment_id LIKE '1%'")


def test_experiment_name_rejects_lists() -> None:
    with pytest.raises(InvalidParameter, match=r"Only \['experiment_id'\]"):
        parse_experiment_filter("name IN ('a')")


@pytest.mark.parametrize("key", ["creation_time", "last_update_time"])
def test_experiment_times_take_whole_numbers(key: str) -> None:
    assert parse_experiment_filter(f"{key} >= 1700000000000") == [
        Comparison("attribute", key, ">=", 1700000000000)
    ]


def test_experiment_times_reject_fractions() -> None:
    with pytest.raises(InvalidParameter, match="Invalid value for numeric attribute"):
        parse_experiment_filter("creation_time > 5.5")


def test_experiment_tags_take_is_null_as_the_ui_sends_it() -> None:
    assert parse_experiment_filter("tags.`mlflow.experiment.isGateway` IS NULL") == [
        Comparison("tag", "mlflow.experiment.isGateway", "IS NULL", None)
    ]


def test_experiment_attributes_reject_is_null() -> None:
    with pytest.raises(InvalidParameter, match="only supported for tags"):
        parse_experiment_filter("name IS NULL")


@pytest.mark.parametrize("prefix", ["attr", "metrics", "run"])
def test_experiment_entity_must_be_attribute_or_tag(prefix: str) -> None:
    with pytest.raises(InvalidParameter, match=f"Invalid entity type '{prefix}'"):
        parse_experiment_filter(f"{prefix}.name = 'x'")


def test_experiment_unknown_attribute_is_rejected() -> None:
    with pytest.raises(
        InvalidParameter, match="Invalid attribute key 'lifecycle_stage'"
    ):
        parse_experiment_filter("lifecycle_stage = 'active'")


# order_by.


def test_order_by_is_ascending_unless_told() -> None:
    assert parse_run_order_by(["metrics.loss", "params.lr desc", "tags.t ASC"]) == [
        OrderKey("metric", "loss", True),
        OrderKey("param", "lr", False),
        OrderKey("tag", "t", True),
    ]


def test_order_by_none_has_no_keys() -> None:
    assert parse_run_order_by(None) == []


def test_order_by_quoted_key() -> None:
    assert parse_run_order_by(["metrics.`my metric` DESC"]) == [
        OrderKey("metric", "my metric", False)
    ]


def test_order_by_created_means_start_time() -> None:
    assert parse_run_order_by(["created DESC"]) == [
        OrderKey("attribute", "start_time", False)
    ]


def test_order_by_surrounding_spaces_are_ignored() -> None:
    assert parse_run_order_by(["  run_name  "]) == [
        OrderKey("attribute", "run_name", True)
    ]


def test_order_by_unknown_direction_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid ordering key"):
        parse_run_order_by(["metrics.h SIDEWAYS"])


@pytest.mark.parametrize("item", ["", "metrics.a DESC extra", "params.a,params.b"])
def test_order_by_unparsable_clause_is_rejected(item: str) -> None:
    with pytest.raises(InvalidParameter, match="Invalid order_by clause"):
        parse_run_order_by([item])


def test_order_by_experiment_id_is_rejected_for_runs() -> None:
    with pytest.raises(InvalidParameter, match="Invalid attribute key 'experiment_id'"):
        parse_run_order_by(["experiment_id"])


def test_order_by_run_name_alias_is_rejected_as_mlflow_rejects_it() -> None:
    with pytest.raises(InvalidParameter, match="Invalid attribute key 'Run name'"):
        parse_run_order_by(["attributes.`Run name`"])


def test_order_by_dataset_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid order_by entity type"):
        parse_run_order_by(["datasets.name"])


def test_order_by_repeated_key_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="duplicate fields"):
        parse_run_order_by(["start_time", "created DESC"])


def test_experiment_order_by_takes_the_four_attributes() -> None:
    assert parse_experiment_order_by(
        ["name", "experiment_id DESC", "creation_time", "attributes.last_update_time"]
    ) == [
        OrderKey("attribute", "name", True),
        OrderKey("attribute", "experiment_id", False),
        OrderKey("attribute", "creation_time", True),
        OrderKey("attribute", "last_update_time", True),
    ]


def test_experiment_order_by_tag_is_rejected() -> None:
    with pytest.raises(InvalidParameter, match="Invalid order_by entity: tag"):
        parse_experiment_order_by(["tags.a"])
