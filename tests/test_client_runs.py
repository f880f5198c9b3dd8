"""Runs, their data and their search, through the stock MlflowClient."""

import math
from typing import Any

import mlflow
import pytest
import requests
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

RUN_NAME_TAG = "mlflow.runName"


@pytest.fixture
def experiment_id(client: MlflowClient, unique: str) -> str:
    """A fresh experiment, so searches see only the test's own runs."""
    created: str = client.create_experiment(f"runs-{unique}")
    return created


def new_run_id(client: MlflowClient, experiment_id: str, **kwargs: Any) -> str:
    run_id: str = client.create_run(experiment_id, **kwargs).info.run_id
    return run_id


def dataset(name: str, digest: str) -> Dataset:
    return Dataset(
        name=name,
        digest=digest,
        source_type="local",
        source=f"file:///data/{name}.csv",
        schema='{"columns": ["x"]}',
        profile='{"rows": 3}',
    )


# Creating and reading runs --------------------------------------------------


def test_create_run_returns_a_running_run_with_tags_name_and_start_time(
    client: MlflowClient, experiment_id: str
) -> None:
    run = client.create_run(
        experiment_id, start_time=1_700_000_000_000, tags={"team": "nlp"}, run_name="r1"
    )

    assert run.info.run_name == "r1"
    assert run.info.status == "RUNNING"
    assert run.info.start_time == 1_700_000_000_000
    assert run.info.end_time is None
    assert run.info.experiment_id == experiment_id
    assert run.info.lifecycle_stage == "active"
    assert run.data.tags == {"team": "nlp", RUN_NAME_TAG: "r1"}


def test_create_run_without_a_name_gets_a_generated_one(
    client: MlflowClient, experiment_id: str
) -> None:
    run = client.create_run(experiment_id)

    assert run.info.run_name
    assert run.data.tags[RUN_NAME_TAG] == run.info.run_name


def test_create_run_hands_out_a_proxied_artifact_uri(
    client: MlflowClient, experiment_id: str
) -> None:
    run = client.create_run(experiment_id)

    expected = f"mlflow-artifacts:/{experiment_id}/{run.info.run_id}/artifacts"
    assert run.info.artifact_uri == expected


def test_get_run_returns_what_create_run_returned(
    client: MlflowClient, experiment_id: str
) -> None:
    created = client.create_run(experiment_id, tags={"k": "v"}, run_name="same")

    fetched = client.get_run(created.info.run_id)

    assert fetched.info == created.info
    assert fetched.data.tags == created.data.tags


def test_update_run_sets_status_and_name(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, run_name="old")

    client.update_run(run_id, status="KILLED", name="new")

    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.info.run_name == "new"


def test_update_run_name_also_moves_the_run_name_tag(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, run_name="old")

    client.update_run(run_id, name="renamed")

    assert client.get_run(run_id).data.tags[RUN_NAME_TAG] == "renamed"


def test_setting_the_run_name_tag_renames_the_run(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, run_name="old")

    client.set_tag(run_id, RUN_NAME_TAG, "by-tag")

    assert client.get_run(run_id).info.run_name == "by-tag"


def test_set_terminated_sets_status_and_end_time(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, start_time=1_000)

    client.set_terminated(run_id, status="FAILED", end_time=2_000)

    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time == 2_000


def test_set_terminated_defaults_to_finished(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.set_terminated(run_id)

    run = client.get_run(run_id)
    assert run.info.status == RunStatus.to_string(RunStatus.FINISHED)
    assert run.info.end_time is not None


def test_delete_run_marks_it_deleted(client: MlflowClient, experiment_id: str) -> None:
    run_id = new_run_id(client, experiment_id)

    client.delete_run(run_id)

    assert client.get_run(run_id).info.lifecycle_stage == "deleted"


def test_restore_run_makes_it_active_again(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    client.delete_run(run_id)

    client.restore_run(run_id)

    assert client.get_run(run_id).info.lifecycle_stage == "active"


# Metrics ----------------------------------------------------------------


def test_log_metric_keeps_every_step_and_timestamp_in_the_history(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    for step in range(3):
        client.log_metric(
            run_id, "loss", 1.0 / (step + 1), timestamp=100 + step, step=step
        )

    history = client.get_metric_history(run_id, "loss")

    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (0, 100, 1.0),
        (1, 101, 0.5),
        (2, 102, 1.0 / 3),
    ]


def test_run_data_holds_the_latest_value_of_each_metric(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    client.log_metric(run_id, "acc", 0.9, timestamp=10, step=2)
    client.log_metric(run_id, "acc", 0.1, timestamp=20, step=1)

    assert client.get_run(run_id).data.metrics == {"acc": 0.9}


@pytest.mark.parametrize("value", [math.inf, -math.inf], ids=["inf", "-inf"])
def test_infinite_metric_values_survive_a_round_trip(
    client: MlflowClient, experiment_id: str, value: float
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_metric(run_id, "edge", value, timestamp=1, step=0)

    assert client.get_run(run_id).data.metrics["edge"] == value
    assert [m.value for m in client.get_metric_history(run_id, "edge")] == [value]


def test_nan_metric_values_survive_a_round_trip(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_metric(run_id, "edge", math.nan, timestamp=1, step=0)

    assert math.isnan(client.get_run(run_id).data.metrics["edge"])
    [point] = client.get_metric_history(run_id, "edge")
    assert math.isnan(point.value)


def test_get_metric_history_orders_points_by_timestamp_then_step(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    logged = [(5, 30, 3.0), (1, 10, 1.0), (0, 20, 2.0), (2, 10, 4.0)]
    client.log_batch(
        run_id,
        metrics=[
            Metric("m", value, timestamp, step) for step, timestamp, value in logged
        ],
    )

    history = client.get_metric_history(run_id, "m")

    assert [(m.timestamp, m.step) for m in history] == [
        (10, 1),
        (10, 2),
        (20, 0),
        (30, 5),
    ]


def test_metric_history_pages_through_the_rest_endpoint(
    client: MlflowClient, experiment_id: str, tracking_uri: str
) -> None:
    # The client asks for 25000 points per page, so paging shows only here.
    run_id = new_run_id(client, experiment_id)
    client.log_batch(run_id, metrics=[Metric("p", float(i), i, i) for i in range(5)])
    url = f"{tracking_uri}/api/2.0/mlflow/metrics/get-history"

    steps: list[list[int]] = []
    query: dict[str, Any] = {"run_id": run_id, "metric_key": "p", "max_results": 2}
    while True:
        answer = requests.get(url, params=query, timeout=10)
        answer.raise_for_status()
        page = answer.json()
        steps.append([point["step"] for point in page["metrics"]])
        if not page.get("next_page_token"):
            break
        query["page_token"] = page["next_page_token"]

    assert steps == [[0, 1], [2, 3], [4]]


# Params and tags ------------------------------------------------------------


def test_log_param_twice_with_the_same_value_is_accepted(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")

    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_log_param_with_a_changed_value_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    client.log_param(run_id, "lr", "0.1")

    with pytest.raises(MlflowException, match="Changing param values") as raised:
        client.log_param(run_id, "lr", "0.2")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_log_batch_logs_metrics_params_and_tags(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_batch(
        run_id,
        metrics=[Metric("loss", 0.5, 1, 0), Metric("loss", 0.25, 2, 1)],
        params=[Param("lr", "0.01"), Param("depth", "3")],
        tags=[RunTag("team", "vision")],
    )

    data = client.get_run(run_id).data
    assert data.metrics == {"loss": 0.25}
    assert data.params == {"lr": "0.01", "depth": "3"}
    assert data.tags["team"] == "vision"
    assert len(client.get_metric_history(run_id, "loss")) == 2


def test_log_batch_with_duplicate_param_keys_applies_nothing(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    with pytest.raises(MlflowException, match="Duplicate parameter keys") as raised:
        client.log_batch(
            run_id,
            metrics=[Metric("loss", 0.5, 1, 0)],
            params=[Param("lr", "0.1"), Param("lr", "0.2")],
            tags=[RunTag("team", "vision")],
        )

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    data = client.get_run(run_id).data
    assert data.metrics == {}
    assert data.params == {}
    assert "team" not in data.tags


def test_set_tag_overwrites_the_value(client: MlflowClient, experiment_id: str) -> None:
    run_id = new_run_id(client, experiment_id)

    client.set_tag(run_id, "stage", "dev")
    client.set_tag(run_id, "stage", "prod")

    assert client.get_run(run_id).data.tags["stage"] == "prod"


def test_delete_tag_removes_it(client: MlflowClient, experiment_id: str) -> None:
    run_id = new_run_id(client, experiment_id, tags={"stage": "dev"})

    client.delete_tag(run_id, "stage")

    assert "stage" not in client.get_run(run_id).data.tags


def test_delete_of_a_missing_tag_does_not_exist(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    with pytest.raises(MlflowException, match="No tag with name: absent") as raised:
        client.delete_tag(run_id, "absent")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# Inputs ---------------------------------------------------------------------


def test_log_inputs_shows_datasets_and_their_tags_on_the_run(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    train = DatasetInput(
        dataset("train", "d1"), tags=[InputTag("mlflow.data.context", "training")]
    )

    client.log_inputs(run_id, [train])

    inputs = client.get_run(run_id).inputs
    assert inputs is not None
    [logged] = inputs.dataset_inputs
    assert logged.dataset.name == "train"
    assert logged.dataset.digest == "d1"
    assert logged.dataset.source_type == "local"
    assert logged.dataset.source == "file:///data/train.csv"
    assert logged.dataset.schema == '{"columns": ["x"]}'
    assert logged.dataset.profile == '{"rows": 3}'
    assert [(tag.key, tag.value) for tag in logged.tags] == [
        ("mlflow.data.context", "training")
    ]


# Search ---------------------------------------------------------------------


@pytest.fixture
def searchable(client: MlflowClient, experiment_id: str) -> dict[str, str]:
    """Three runs with distinct metrics, params, tags, names and datasets."""
    run_ids = {}
    for index, name in enumerate(["alpha", "beta", "gamma"]):
        run_id = new_run_id(client, experiment_id, run_name=name)
        client.log_batch(
            run_id,
            metrics=[Metric("score", float(index), 1, 0)],
            params=[Param("depth", str(index))],
            tags=[RunTag("family", "greek" if index < 2 else "other")],
        )
        context = InputTag("mlflow.data.context", "eval" if index else "training")
        client.log_inputs(
            run_id, [DatasetInput(dataset(f"ds-{name}", f"dg{index}"), [context])]
        )
        run_ids[name] = run_id
    return run_ids


def names_of(runs: list[Any]) -> list[str]:
    return [run.info.run_name for run in runs]


def test_search_runs_filters_by_metric(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs(
        [experiment_id], "metrics.score >= 1", order_by=["metrics.score"]
    )

    assert names_of(runs) == ["beta", "gamma"]


def test_search_runs_filters_by_param(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs([experiment_id], "params.depth = '2'")

    assert names_of(runs) == ["gamma"]


def test_search_runs_filters_by_tag(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs(
        [experiment_id], "tags.family = 'greek'", order_by=["attributes.run_name"]
    )

    assert names_of(runs) == ["alpha", "beta"]


def test_search_runs_filters_by_attribute(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    by_name = client.search_runs([experiment_id], "attributes.run_name = 'beta'")
    by_id = client.search_runs(
        [experiment_id],
        f"attributes.run_id IN ('{searchable['alpha']}', '{searchable['gamma']}')",
        order_by=["attributes.run_name"],
    )

    assert names_of(by_name) == ["beta"]
    assert names_of(by_id) == ["alpha", "gamma"]


def test_search_runs_filters_by_dataset(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    by_name = client.search_runs([experiment_id], "datasets.name = 'ds-beta'")
    by_context = client.search_runs([experiment_id], "datasets.context = 'training'")
    by_digest = client.search_runs(
        [experiment_id], "datasets.digest IN ('dg1', 'dg2')", order_by=["run_name"]
    )

    assert names_of(by_name) == ["beta"]
    assert names_of(by_context) == ["alpha"]
    assert names_of(by_digest) == ["beta", "gamma"]


def test_search_runs_orders_by_metric_descending(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs([experiment_id], order_by=["metrics.score DESC"])

    assert names_of(runs) == ["gamma", "beta", "alpha"]


def test_search_runs_run_view_type_selects_by_lifecycle(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    client.delete_run(searchable["beta"])

    def names(view_type: int) -> list[str]:
        runs = client.search_runs(
            [experiment_id], run_view_type=view_type, order_by=["run_name"]
        )
        return names_of(runs)

    assert names(ViewType.ACTIVE_ONLY) == ["alpha", "gamma"]
    assert names(ViewType.DELETED_ONLY) == ["beta"]
    assert names(ViewType.ALL) == ["alpha", "beta", "gamma"]


def test_search_runs_pages_with_page_token(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    first = client.search_runs([experiment_id], max_results=2, order_by=["run_name"])
    second = client.search_runs(
        [experiment_id], max_results=2, order_by=["run_name"], page_token=first.token
    )

    assert names_of(first) == ["alpha", "beta"]
    assert names_of(second) == ["gamma"]
    assert not second.token


def test_fluent_search_runs_returns_a_data_frame(
    tracking_uri: str, experiment_id: str, searchable: dict[str, str]
) -> None:
    frame = mlflow.search_runs(
        experiment_ids=[experiment_id], order_by=["metrics.score DESC"]
    )

    assert list(frame["run_id"]) == [
        searchable["gamma"],
        searchable["beta"],
        searchable["alpha"],
    ]
    assert list(frame["metrics.score"]) == [2.0, 1.0, 0.0]
    assert list(frame["params.depth"]) == ["2", "1", "0"]
    assert list(frame["tags.family"]) == ["other", "greek", "greek"]


# Errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda c, r: c.log_metric(r, "m", 1.0), id="log_metric"),
        pytest.param(lambda c, r: c.log_param(r, "p", "1"), id="log_param"),
        pytest.param(lambda c, r: c.set_tag(r, "t", "1"), id="set_tag"),
        pytest.param(
            lambda c, r: c.log_batch(r, params=[Param("p", "1")]), id="log_batch"
        ),
        pytest.param(lambda c, r: c.update_run(r, status="FINISHED"), id="update_run"),
    ],
)
def test_writes_to_a_deleted_run_are_invalid_parameters(
    client: MlflowClient, experiment_id: str, write: Any
) -> None:
    run_id = new_run_id(client, experiment_id)
    client.delete_run(run_id)

    with pytest.raises(
        MlflowException, match="must be in the 'active' state"
    ) as raised:
        write(client, run_id)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_get_run_of_an_unknown_run_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(
        MlflowException, match="Run with id=feedface not found"
    ) as raised:
        client.get_run("feedface")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logging_to_an_unknown_run_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException, match="not found") as raised:
        client.log_param("feedface", "p", "1")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_create_run_in_a_deleted_experiment_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    client.delete_experiment(experiment_id)

    with pytest.raises(
        MlflowException, match="must be in the 'active' state"
    ) as raised:
        client.create_run(experiment_id)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_create_run_in_a_missing_experiment_does_not_exist(
    client: MlflowClient,
) -> None:
    with pytest.raises(MlflowException, match="No Experiment with id=") as raised:
        client.create_run("987654321")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize("key", ["bad!key", "../escape", "/absolute", "a//b"])
def test_log_metric_with_an_invalid_key_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str, key: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    with pytest.raises(MlflowException, match="Invalid metric name") as raised:
        client.log_metric(run_id, key, 1.0)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_with_a_bad_filter_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    with pytest.raises(MlflowException, match="Invalid") as raised:
        client.search_runs([experiment_id], "metrics.a > 1 OR params.b = '2'")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


# More search semantics ------------------------------------------------------


def test_search_runs_not_equal_skips_runs_without_the_tag(
    client: MlflowClient, experiment_id: str
) -> None:
    new_run_id(client, experiment_id, run_name="other", tags={"colour": "red"})
    new_run_id(client, experiment_id, run_name="untagged")

    runs = client.search_runs([experiment_id], "tags.colour != 'blue'")

    assert names_of(runs) == ["other"]


def test_search_runs_is_null_finds_runs_without_the_param(
    client: MlflowClient, experiment_id: str
) -> None:
    with_param = new_run_id(client, experiment_id, run_name="with")
    client.log_param(with_param, "p", "1")
    new_run_id(client, experiment_id, run_name="without")

    runs = client.search_runs([experiment_id], "params.p IS NULL")

    assert names_of(runs) == ["without"]


def test_search_runs_like_is_case_sensitive_and_ilike_is_not(
    client: MlflowClient, experiment_id: str
) -> None:
    new_run_id(client, experiment_id, run_name="Upper")

    like = client.search_runs([experiment_id], "attributes.run_name LIKE 'up%'")
    ilike = client.search_runs([experiment_id], "attributes.run_name ILIKE 'up%'")

    assert names_of(like) == []
    assert names_of(ilike) == ["Upper"]


def test_search_runs_filters_by_start_time_and_status(
    client: MlflowClient, experiment_id: str
) -> None:
    new_run_id(client, experiment_id, run_name="early", start_time=1_000)
    late = new_run_id(client, experiment_id, run_name="late", start_time=5_000)
    client.set_terminated(late)

    by_time = client.search_runs([experiment_id], "attributes.start_time > 2000")
    by_status = client.search_runs([experiment_id], "attributes.status = 'RUNNING'")

    assert names_of(by_time) == ["late"]
    assert names_of(by_status) == ["early"]


def test_search_runs_without_order_puts_the_latest_start_first(
    client: MlflowClient, experiment_id: str
) -> None:
    for name, start in (("middle", 2_000), ("first", 1_000), ("last", 3_000)):
        new_run_id(client, experiment_id, run_name=name, start_time=start)

    runs = client.search_runs([experiment_id])

    assert names_of(runs) == ["last", "middle", "first"]


def runs_with_metric_m(
    client: MlflowClient, experiment_id: str, one: str, two: str
) -> None:
    """Runs named ``one`` and ``two`` with m = 1 and 2, one with m = NaN named
    ``nan``, and one without m named ``missing``."""
    for name, value in ((one, 1.0), ("nan", math.nan), (two, 2.0)):
        client.log_metric(new_run_id(client, experiment_id, run_name=name), "m", value)
    new_run_id(client, experiment_id, run_name="missing")


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_search_runs_order_puts_nan_then_missing_metrics_last(
    client: MlflowClient, experiment_id: str, direction: str
) -> None:
    runs_with_metric_m(client, experiment_id, "low", "high")

    runs = client.search_runs([experiment_id], order_by=[f"metrics.m {direction}"])

    real = ["low", "high"] if direction == "ASC" else ["high", "low"]
    assert names_of(runs) == [*real, "nan", "missing"]


@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_paging_a_metric_order_lists_numbers_nan_then_missing_once_each(
    client: MlflowClient, experiment_id: str, page_size: int
) -> None:
    runs_with_metric_m(client, experiment_id, "one", "two")

    names: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            order_by=["metrics.m DESC"],
            max_results=page_size,
            page_token=token,
        )
        names += names_of(page)
        token = page.token
        if not token:
            break

    assert names == ["two", "one", "nan", "missing"]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("> 0", ["two", "one"]),
        ("!= 5", ["two", "one", "nan"]),
        ("<= 1", ["one"]),
        ("= 2", ["two"]),
        ("< 0", []),
    ],
)
def test_a_filter_on_the_ordering_metric_keeps_only_the_runs_it_holds_for(
    client: MlflowClient, experiment_id: str, condition: str, expected: list[str]
) -> None:
    runs_with_metric_m(client, experiment_id, "one", "two")

    runs = client.search_runs(
        [experiment_id], f"metrics.m {condition}", order_by=["metrics.m DESC"]
    )

    assert names_of(runs) == expected


def test_equal_metric_values_put_the_latest_start_first(
    client: MlflowClient, experiment_id: str
) -> None:
    for name, start in (("early", 1_000), ("late", 3_000), ("middle", 2_000)):
        run_id = new_run_id(client, experiment_id, run_name=name, start_time=start)
        client.log_metric(run_id, "m", 5.0)

    runs = client.search_runs([experiment_id], order_by=["metrics.m ASC"])

    assert names_of(runs) == ["late", "middle", "early"]


def test_a_metric_order_over_several_experiments_merges_them(
    client: MlflowClient, experiment_id: str, unique: str
) -> None:
    other = client.create_experiment(f"runs-ranked-{unique}")
    for experiment, name, value in (
        (experiment_id, "here-low", 1.0),
        (other, "there-high", 3.0),
        (experiment_id, "here-high", 2.0),
        (other, "there-nan", math.nan),
    ):
        client.log_metric(new_run_id(client, experiment, run_name=name), "m", value)
    new_run_id(client, other, run_name="there-missing")

    runs = client.search_runs([experiment_id, other], order_by=["metrics.m DESC"])

    assert names_of(runs) == [
        "there-high",
        "here-high",
        "here-low",
        "there-nan",
        "there-missing",
    ]


def test_search_runs_spans_several_experiments(
    client: MlflowClient, experiment_id: str, unique: str
) -> None:
    other = client.create_experiment(f"runs-other-{unique}")
    new_run_id(client, experiment_id, run_name="here")
    new_run_id(client, other, run_name="there")

    runs = client.search_runs([experiment_id, other], order_by=["run_name"])

    assert names_of(runs) == ["here", "there"]


# More write rules -----------------------------------------------------------


def test_create_run_takes_its_name_from_the_run_name_tag(
    client: MlflowClient, experiment_id: str
) -> None:
    run = client.create_run(experiment_id, tags={RUN_NAME_TAG: "from-tag"})

    assert run.info.run_name == "from-tag"


def test_create_run_with_a_name_and_a_different_name_tag_is_refused(
    client: MlflowClient, experiment_id: str
) -> None:
    with pytest.raises(MlflowException, match="different values") as raised:
        client.create_run(experiment_id, run_name="a", tags={RUN_NAME_TAG: "b"})

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_batch_with_the_run_name_tag_renames_the_run(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, run_name="old")

    client.log_batch(run_id, tags=[RunTag(RUN_NAME_TAG, "batch-name")])

    assert client.get_run(run_id).info.run_name == "batch-name"


def test_an_exact_duplicate_metric_point_is_kept_once(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)
    client.log_metric(run_id, "m", 1.0, timestamp=5, step=1)

    assert len(client.get_metric_history(run_id, "m")) == 1


def test_a_retried_batch_adds_only_its_new_points(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    first = [Metric("m", 1.0, 5, 1), Metric("m", 2.0, 6, 2)]

    client.log_batch(run_id, metrics=first)
    client.log_batch(run_id, metrics=[*first, Metric("m", 3.0, 7, 3)])

    history = client.get_metric_history(run_id, "m")
    assert [(point.step, point.value) for point in history] == [
        (1, 1.0),
        (2, 2.0),
        (3, 3.0),
    ]
    assert client.get_run(run_id).data.metrics == {"m": 3.0}


def test_a_point_repeated_within_one_batch_is_kept_once(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    point = Metric("m", 1.0, 5, 1)

    client.log_batch(run_id, metrics=[point, point, Metric("n", 4.0, 5, 1)])

    assert len(client.get_metric_history(run_id, "m")) == 1
    assert client.get_run(run_id).data.metrics == {"m": 1.0, "n": 4.0}


def test_an_over_long_param_value_is_truncated(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_param(run_id, "long", "x" * 7000)

    assert client.get_run(run_id).data.params["long"] == "x" * 6000


def test_an_over_long_param_key_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    with pytest.raises(MlflowException, match="exceeds the maximum length") as raised:
        client.log_param(run_id, "k" * 251, "1")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_deleting_an_unknown_run_does_not_exist(client: MlflowClient) -> None:
    with pytest.raises(MlflowException, match="not found") as raised:
        client.delete_run("feedface")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_tag_on_a_deleted_run_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, tags={"t": "1"})
    client.delete_run(run_id)

    with pytest.raises(
        MlflowException, match="must be in the 'active' state"
    ) as raised:
        client.delete_tag(run_id, "t")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_finds_a_renamed_run_by_its_new_name_tag(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id, run_name="before")
    client.update_run(run_id, name="after")

    by_tag = client.search_runs([experiment_id], "tags.`mlflow.runName` = 'after'")
    by_attribute = client.search_runs([experiment_id], "run_name = 'after'")

    assert names_of(by_tag) == ["after"]
    assert names_of(by_attribute) == ["after"]


def test_search_runs_orders_by_a_backticked_tag(
    client: MlflowClient, experiment_id: str
) -> None:
    for name in ("b", "c", "a"):
        new_run_id(client, experiment_id, run_name=name)

    runs = client.search_runs([experiment_id], order_by=["tags.`mlflow.runName` DESC"])

    assert names_of(runs) == ["c", "b", "a"]


def test_search_runs_filters_by_param_like(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs(
        [experiment_id], "params.depth LIKE '%1' AND tags.family = 'greek'"
    )

    assert names_of(runs) == ["beta"]


def test_search_runs_filters_by_dataset_context_in(
    client: MlflowClient, experiment_id: str, searchable: dict[str, str]
) -> None:
    runs = client.search_runs(
        [experiment_id],
        "datasets.context IN ('training', 'nowhere')",
    )

    assert names_of(runs) == ["alpha"]


def test_search_runs_in_a_deleted_experiment_finds_them_only_as_deleted(
    client: MlflowClient, experiment_id: str
) -> None:
    new_run_id(client, experiment_id, run_name="gone")
    client.delete_experiment(experiment_id)

    active = client.search_runs([experiment_id])
    deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)

    assert names_of(active) == []
    assert names_of(deleted) == ["gone"]


def test_logging_the_same_dataset_twice_lists_it_once(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    train = DatasetInput(dataset("train", "d1"))

    client.log_inputs(run_id, [train])
    client.log_inputs(run_id, [train])

    inputs = client.get_run(run_id).inputs
    assert inputs is not None
    assert len(inputs.dataset_inputs) == 1


def test_two_runs_can_log_the_same_dataset(
    client: MlflowClient, experiment_id: str
) -> None:
    first = new_run_id(client, experiment_id)
    second = new_run_id(client, experiment_id)
    train = DatasetInput(dataset("shared", "d1"))

    client.log_inputs(first, [train])
    client.log_inputs(second, [train])

    for run_id in (first, second):
        inputs = client.get_run(run_id).inputs
        assert inputs is not None
        assert [i.dataset.name for i in inputs.dataset_inputs] == ["shared"]


def test_an_over_long_tag_value_is_truncated(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.set_tag(run_id, "long", "y" * 9000)

    assert client.get_run(run_id).data.tags["long"] == "y" * 8000


def test_metrics_at_the_same_step_and_time_with_different_values_are_all_kept(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)

    client.log_batch(run_id, metrics=[Metric("m", 1.0, 5, 0), Metric("m", 2.0, 5, 0)])

    history = client.get_metric_history(run_id, "m")
    assert sorted(point.value for point in history) == [1.0, 2.0]
    assert client.get_run(run_id).data.metrics == {"m": 2.0}


def test_search_runs_with_no_runs_gives_an_empty_data_frame(
    tracking_uri: str, experiment_id: str
) -> None:
    frame = mlflow.search_runs(experiment_ids=[experiment_id])

    assert len(frame) == 0


def test_deleted_runs_keep_their_data_readable(
    client: MlflowClient, experiment_id: str
) -> None:
    run_id = new_run_id(client, experiment_id)
    client.log_param(run_id, "p", "1")
    client.delete_run(run_id)

    assert client.get_run(run_id).data.params == {"p": "1"}


def test_get_metric_history_follows_pages_past_the_clients_page_size(
    client: MlflowClient, experiment_id: str
) -> None:
    # The client asks for 25000 points a page; one more forces a second page.
    run_id = new_run_id(client, experiment_id)
    points = [Metric("long", float(i), i, i) for i in range(25_001)]
    client.log_batch(run_id, metrics=points)

    history = client.get_metric_history(run_id, "long")

    assert len(history) == 25_001
    assert history[-1].step == 25_000
