"""The last 2.x mlflow client against the server, run from its own venv.

The 2.x client cannot share a process with the 3.x one the other tests use,
so ``tests/support/mlflow2_script.py`` runs under ``.venv-mlflow2`` (built
by ``make mlflow2``, which ``make test`` depends on) and reports as JSON.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parents[1]
MLFLOW2_PYTHON = ROOT / ".venv-mlflow2" / "bin" / "python"
SCRIPT = ROOT / "tests" / "support" / "mlflow2_script.py"


@pytest.fixture(scope="module")
def experiment_name() -> str:
    return f"mlflow2-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def observed(tracking_uri: str, experiment_name: str) -> dict[str, Any]:
    """What the 2.x script saw; the script runs once for the whole module."""
    if not MLFLOW2_PYTHON.exists():
        pytest.skip("the mlflow 2.x venv is missing; build it with `make mlflow2`")

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"

    finished = subprocess.run(
        [str(MLFLOW2_PYTHON), str(SCRIPT), experiment_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr

    result: dict[str, Any] = json.loads(finished.stdout)
    return result


def test_the_script_ran_the_2x_client(observed: dict[str, Any]) -> None:
    assert observed["client_version"].startswith("2.")


def test_set_experiment_created_the_experiment(
    observed: dict[str, Any], client: MlflowClient, experiment_name: str
) -> None:
    experiment = client.get_experiment_by_name(experiment_name)

    assert experiment is not None
    assert experiment.experiment_id == observed["experiment_id"]


def test_run_finished_with_its_name(observed: dict[str, Any]) -> None:
    assert observed["parent"]["run_name"] == "v2-parent"
    assert observed["parent"]["status"] == "FINISHED"


def test_params_metrics_and_tags_were_logged(observed: dict[str, Any]) -> None:
    parent = observed["parent"]

    assert parent["params"] == {"lr": "0.01", "depth": "4", "optimizer": "adam"}
    assert parent["metrics"] == {"loss": 0.8, "acc": 0.9}
    assert parent["tags"]["team"] == "vision"
    assert parent["tags"]["stage"] == "dev"
    assert parent["tags"]["mlflow.runName"] == "v2-parent"


def test_metric_history_kept_every_step(observed: dict[str, Any]) -> None:
    assert observed["parent"]["loss_history"] == [[0, 1.0], [1, 0.9], [2, 0.8]]


def test_dataset_input_was_logged_with_its_context(observed: dict[str, Any]) -> None:
    dataset = observed["parent"]["dataset"]

    assert dataset["name"] == "train"
    assert dataset["digest"] == dataset["expected_digest"]
    assert dataset["tags"] == {"mlflow.data.context": "training"}


def test_nested_run_points_at_its_parent(observed: dict[str, Any]) -> None:
    assert observed["child_parent_tag"] == observed["parent_run_id"]


def test_a_raising_run_block_ended_failed(observed: dict[str, Any]) -> None:
    assert observed["failed_status"] == "FAILED"


def test_searches_found_the_scripts_runs(observed: dict[str, Any]) -> None:
    assert observed["search_run_ids"] == [observed["parent_run_id"]]
    assert observed["search_frame_rows"] == 3


def test_a_missing_experiment_name_is_none(observed: dict[str, Any]) -> None:
    assert observed["missing_experiment"] is None


def test_errors_carry_mlflow_error_codes(observed: dict[str, Any]) -> None:
    assert observed["errors"] == {
        "unknown_run": "RESOURCE_DOES_NOT_EXIST",
        "changed_param": "INVALID_PARAMETER_VALUE",
        "duplicate_experiment": "RESOURCE_ALREADY_EXISTS",
    }
