"""A training script's fluent mlflow calls, end to end against the server."""

from collections.abc import Iterator

import mlflow
import pandas as pd  # type: ignore[import-untyped]  # no stubs installed
import pytest
from mlflow.data.pandas_dataset import from_pandas
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


@pytest.fixture(autouse=True)
def no_run_left_active(tracking_uri: str) -> Iterator[None]:
    """Fluent state is process-wide; a failing test must not leak its run."""
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


def test_set_experiment_creates_a_missing_experiment(
    client: MlflowClient, unique: str
) -> None:
    experiment = mlflow.set_experiment(f"fluent-{unique}")

    fetched = client.get_experiment_by_name(f"fluent-{unique}")
    assert fetched is not None
    assert fetched.experiment_id == experiment.experiment_id


def test_set_experiment_reuses_an_existing_experiment(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"existing-{unique}")

    experiment = mlflow.set_experiment(f"existing-{unique}")

    assert experiment.experiment_id == experiment_id


def test_set_experiment_refuses_a_deleted_experiment(
    client: MlflowClient, unique: str
) -> None:
    client.delete_experiment(client.create_experiment(f"deleted-{unique}"))

    with pytest.raises(MlflowException, match="deleted experiment"):
        mlflow.set_experiment(f"deleted-{unique}")


def test_a_training_script_logs_params_metrics_and_tags(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"script-{unique}")

    with mlflow.start_run(run_name="train") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 4, "optimizer": "adam"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 - step / 10, step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "owner": unique})

    logged = client.get_run(run.info.run_id)
    assert logged.info.run_name == "train"
    assert logged.data.params == {"lr": "0.01", "depth": "4", "optimizer": "adam"}
    assert logged.data.metrics == {"loss": 0.8, "acc": 0.9, "f1": 0.8}
    assert {"team": "vision", "stage": "dev", "owner": unique}.items() <= (
        logged.data.tags.items()
    )
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.9), (2, 0.8)]


def test_start_run_sends_the_client_system_tags(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"systags-{unique}")

    with mlflow.start_run(run_name="tagged") as run:
        pass

    tags = client.get_run(run.info.run_id).data.tags
    assert tags["mlflow.runName"] == "tagged"
    assert {"mlflow.user", "mlflow.source.name", "mlflow.source.type"} <= tags.keys()


def test_log_input_records_a_pandas_dataset_with_its_context(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"inputs-{unique}")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    dataset = from_pandas(frame, name="train")

    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")

    inputs = client.get_run(run.info.run_id).inputs
    assert inputs is not None
    [logged] = inputs.dataset_inputs
    assert logged.dataset.name == "train"
    assert logged.dataset.digest == dataset.digest
    assert logged.dataset.source_type == "code"
    assert logged.dataset.schema == dataset.to_dict()["schema"]
    assert {(tag.key, tag.value) for tag in logged.tags} == {
        ("mlflow.data.context", "training")
    }


def test_nested_run_is_tagged_with_its_parent(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"nested-{unique}")

    with (
        mlflow.start_run(run_name="parent") as parent,
        mlflow.start_run(run_name="child", nested=True) as child,
    ):
        pass

    tags = client.get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_leaving_the_run_block_ends_it_finished(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"finished-{unique}")

    with mlflow.start_run() as run:
        pass

    info = client.get_run(run.info.run_id).info
    assert info.status == "FINISHED"
    assert info.end_time is not None
    assert info.end_time >= info.start_time


def test_end_run_ends_the_active_run_finished(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"endrun-{unique}")
    run = mlflow.start_run()

    mlflow.end_run()

    assert client.get_run(run.info.run_id).info.status == "FINISHED"
    assert mlflow.active_run() is None


def test_a_run_block_that_raises_ends_the_run_failed(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"failed-{unique}")

    with pytest.raises(RuntimeError, match="diverged"), mlflow.start_run() as run:
        raise RuntimeError("training diverged")

    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_fluent_search_runs_finds_the_scripts_runs(unique: str) -> None:
    experiment = mlflow.set_experiment(f"search-{unique}")
    for lr in ("0.1", "0.2"):
        with mlflow.start_run(run_name=f"lr-{lr}"):
            mlflow.log_param("lr", lr)
            mlflow.log_metric("loss", float(lr))

    frame = mlflow.search_runs(
        experiment_names=[f"search-{unique}"],
        filter_string="params.lr = '0.2'",
    )

    assert list(frame["tags.mlflow.runName"]) == ["lr-0.2"]
    assert list(frame["metrics.loss"]) == [0.2]
    assert list(frame["experiment_id"]) == [experiment.experiment_id]


def test_asynchronous_logging_is_flushed_when_the_run_ends(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"async-{unique}")

    with mlflow.start_run() as run:
        for step in range(5):
            mlflow.log_metric("loss", float(step), step=step, synchronous=False)
        mlflow.log_param("lr", "0.1", synchronous=False)
        mlflow.set_tag("mode", "async", synchronous=False)

    logged = client.get_run(run.info.run_id)
    assert logged.data.params == {"lr": "0.1"}
    assert logged.data.tags["mode"] == "async"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [point.step for point in history] == [0, 1, 2, 3, 4]


def test_start_run_with_a_run_id_resumes_the_run(
    client: MlflowClient, unique: str
) -> None:
    mlflow.set_experiment(f"resume-{unique}")
    with mlflow.start_run() as first:
        mlflow.log_metric("m", 1.0, step=0)

    with mlflow.start_run(run_id=first.info.run_id):
        assert client.get_run(first.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("m", 2.0, step=1)

    resumed = client.get_run(first.info.run_id)
    assert resumed.info.status == "FINISHED"
    assert resumed.data.metrics == {"m": 2.0}


def test_set_experiment_by_id_makes_runs_land_there(
    client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"byid-{unique}")
    mlflow.set_experiment(experiment_id=experiment_id)

    with mlflow.start_run() as run:
        pass

    assert run.info.experiment_id == experiment_id


def test_fluent_search_experiments_finds_the_experiment(unique: str) -> None:
    experiment = mlflow.set_experiment(f"fluentsearch-{unique}")

    found = mlflow.search_experiments(filter_string=f"name = 'fluentsearch-{unique}'")

    assert [e.experiment_id for e in found] == [experiment.experiment_id]


def test_last_active_run_is_the_run_just_ended(unique: str) -> None:
    mlflow.set_experiment(f"lastactive-{unique}")

    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")

    last = mlflow.last_active_run()
    assert last is not None
    assert last.info.run_id == run.info.run_id
    assert last.data.params == {"p": "1"}
