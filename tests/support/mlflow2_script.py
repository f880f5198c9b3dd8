"""A training script for the last 2.x mlflow client, run in its own venv.

Usage: ``python mlflow2_script.py EXPERIMENT_NAME`` with MLFLOW_TRACKING_URI
set.  It drives the server through the 2.x fluent API and MlflowClient and
prints one JSON object of what it observed as its only line on stdout; the
client's own chatter is sent to stderr.  It imports nothing from the project,
since the project's packages are not installed in that venv.
"""

import contextlib
import json
import sys
from typing import Any

import mlflow
import pandas as pd  # type: ignore[import-untyped]  # no stubs installed
from mlflow.data.pandas_dataset import from_pandas
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient


def error_code_of(call: Any) -> str | None:
    try:
        call()
    except MlflowException as error:
        return str(error.error_code)
    return None


def run_script(experiment_name: str) -> dict[str, Any]:
    experiment = mlflow.set_experiment(experiment_name)
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 1.5, 2.5]})
    dataset = from_pandas(frame, name="train")

    with mlflow.start_run(run_name="v2-parent") as parent:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"depth": 4, "optimizer": "adam"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 - step / 10, step=step)
        mlflow.log_metrics({"acc": 0.9}, step=2)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev"})
        mlflow.log_input(dataset, context="training")
        with mlflow.start_run(run_name="v2-child", nested=True) as child:
            mlflow.log_metric("child_metric", 1.0)

    failed_id = None
    with (
        contextlib.suppress(RuntimeError),
        mlflow.start_run(run_name="v2-failed") as run,
    ):
        failed_id = run.info.run_id
        raise RuntimeError("training diverged")

    client = MlflowClient()
    logged = client.get_run(parent.info.run_id)
    found = client.search_runs(
        [experiment.experiment_id], "params.lr = '0.01'", order_by=["metrics.loss DESC"]
    )
    frame_of_runs = mlflow.search_runs(experiment_names=[experiment_name])
    assert logged.inputs is not None
    [dataset_input] = logged.inputs.dataset_inputs

    return {
        "client_version": mlflow.__version__,
        "experiment_id": experiment.experiment_id,
        "parent": {
            "run_name": logged.info.run_name,
            "status": logged.info.status,
            "params": logged.data.params,
            "metrics": logged.data.metrics,
            "tags": logged.data.tags,
            "loss_history": [
                [m.step, m.value]
                for m in client.get_metric_history(parent.info.run_id, "loss")
            ],
            "dataset": {
                "name": dataset_input.dataset.name,
                "digest": dataset_input.dataset.digest,
                "expected_digest": dataset.digest,
                "tags": {tag.key: tag.value for tag in dataset_input.tags},
            },
        },
        "child_parent_tag": client.get_run(child.info.run_id).data.tags.get(
            "mlflow.parentRunId"
        ),
        "parent_run_id": parent.info.run_id,
        "failed_status": client.get_run(failed_id).info.status if failed_id else None,
        "search_run_ids": [run.info.run_id for run in found],
        "search_frame_rows": len(frame_of_runs),
        "missing_experiment": client.get_experiment_by_name(
            f"{experiment_name}-missing"
        ),
        "errors": {
            "unknown_run": error_code_of(lambda: client.get_run("feedface")),
            "changed_param": error_code_of(
                lambda: client.log_param(parent.info.run_id, "lr", "0.5")
            ),
            "duplicate_experiment": error_code_of(
                lambda: client.create_experiment(experiment_name)
            ),
        },
    }


def main() -> None:
    with contextlib.redirect_stdout(sys.stderr):
        observed = run_script(sys.argv[1])
    print(json.dumps(observed))


if __name__ == "__main__":
    main()
