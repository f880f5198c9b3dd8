"""Artifacts through the stock mlflow client: logged, listed, read back, deleted."""

import random
from pathlib import Path
from typing import Any

import asyncpg
import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import pytest
import requests
from mlflow.models.model import ModelInfo
from mlflow.pyfunc.model import PythonModel
from mlflow.tracking import MlflowClient

from tracker.eventlog.codec import codec
from tracker.eventlog.events import ArtifactStored

MiB = 1024 * 1024


@pytest.fixture
def experiment_id(client: MlflowClient, unique: str) -> str:
    created: str = client.create_experiment(f"artifacts-{unique}")
    return created


@pytest.fixture
def run_id(client: MlflowClient, experiment_id: str) -> str:
    created: str = client.create_run(experiment_id).info.run_id
    return created


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def listed(
    client: MlflowClient, run_id: str, path: str | None = None
) -> dict[str, Any]:
    """``{path: size}`` of a listing, with None as the size of a folder."""
    return {
        info.path: None if info.is_dir else info.file_size
        for info in client.list_artifacts(run_id, path)
    }


def artifact_url(
    tracking_uri: str, client: MlflowClient, run_id: str, path: str
) -> str:
    """The artifact-service URL of one of a run's files, as the client builds it."""
    root = client.get_run(run_id).info.artifact_uri.removeprefix("mlflow-artifacts:")
    return f"{tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{root.strip('/')}/{path}"


async def stored_events(
    tenant_db: asyncpg.Connection, run_id: str, path: str
) -> list[ArtifactStored]:
    rows = await tenant_db.fetch(
        "SELECT event_type, schema_version, data FROM es.events"
        " WHERE stream_id = $1 AND event_type = 'ArtifactStored' ORDER BY position",
        f"run-{run_id}",
    )
    events = [codec.decode(*row) for row in rows]
    return [e for e in events if isinstance(e, ArtifactStored) and e.path == path]


class Doubler(PythonModel):
    def predict(
        self,
        context: Any,
        model_input: list[float],
        params: dict[str, Any] | None = None,
    ) -> list[float]:
        return [2 * value for value in model_input]


# Logging and listing --------------------------------------------------------


def test_log_artifact_lists_the_file_with_its_size(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "weights.bin", b"\x00\x01" * 500)

    client.log_artifact(run_id, str(source))

    assert listed(client, run_id) == {"weights.bin": 1000}


def test_log_artifact_under_an_artifact_path_lists_it_in_that_folder(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    source = write_file(tmp_path / "report.txt", b"fine")

    client.log_artifact(run_id, str(source), artifact_path="reports/daily")

    assert listed(client, run_id) == {"reports": None}
    assert listed(client, run_id, "reports") == {"reports/daily": None}
    assert listed(client, run_id, "reports/daily") == {"reports/daily/report.txt": 4}


def test_log_artifacts_keeps_nested_folders(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    write_file(tmp_path / "out" / "a.txt", b"a")
    write_file(tmp_path / "out" / "deep" / "b.txt", b"bb")
    write_file(tmp_path / "out" / "deep" / "deeper" / "c.txt", b"ccc")

    client.log_artifacts(run_id, str(tmp_path / "out"), artifact_path="outputs")

    assert listed(client, run_id, "outputs") == {
        "outputs/a.txt": 1,
        "outputs/deep": None,
    }
    assert listed(client, run_id, "outputs/deep") == {
        "outputs/deep/b.txt": 2,
        "outputs/deep/deeper": None,
    }
    assert listed(client, run_id, "outputs/deep/deeper") == {
        "outputs/deep/deeper/c.txt": 3
    }


def test_listing_a_file_or_a_missing_folder_is_empty(
    client: MlflowClient, run_id: str
) -> None:
    client.log_text(run_id, "x", "notes/only.txt")

    assert listed(client, run_id, "notes/only.txt") == {}
    assert listed(client, run_id, "nowhere") == {}


def test_log_text_is_read_back_by_load_text(client: MlflowClient, run_id: str) -> None:
    client.log_text(run_id, "héllo\nwörld\n", "notes/greeting.txt")

    text = mlflow.artifacts.load_text(f"runs:/{run_id}/notes/greeting.txt")

    assert text == "héllo\nwörld\n"


def test_log_dict_is_read_back_by_load_dict(client: MlflowClient, run_id: str) -> None:
    config = {"layers": [64, 32], "dropout": 0.1, "name": "net"}

    client.log_dict(run_id, config, "config.json")

    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == config


def test_log_dict_as_yaml_is_read_back_by_load_dict(
    client: MlflowClient, run_id: str
) -> None:
    client.log_dict(run_id, {"lr": 0.01}, "params.yaml")

    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/params.yaml") == {"lr": 0.01}


# Downloading -------------------------------------------------------------


def test_download_artifacts_of_a_file_gives_its_bytes(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    data = random.Random(7).randbytes(300_000)
    client.log_artifact(run_id, str(write_file(tmp_path / "up" / "blob.bin", data)))

    local = client.download_artifacts(run_id, "blob.bin", str(tmp_path / "down"))

    assert Path(local).read_bytes() == data


def test_download_artifacts_of_a_folder_gives_the_whole_tree(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    files = {"a.txt": b"alpha", "sub/b.bin": b"\xff" * 70_000, "sub/x/c": b""}
    for name, data in files.items():
        write_file(tmp_path / "up" / name, data)
    client.log_artifacts(run_id, str(tmp_path / "up"), artifact_path="tree")

    local = Path(client.download_artifacts(run_id, "tree", str(tmp_path / "down")))

    downloaded = {
        path.relative_to(local).as_posix(): path.read_bytes()
        for path in local.rglob("*")
        if path.is_file()
    }
    assert downloaded == files


def test_download_artifacts_of_the_run_root_gives_every_file(
    run_id: str, client: MlflowClient, tmp_path: Path
) -> None:
    client.log_text(run_id, "one", "one.txt")
    client.log_text(run_id, "two", "dir/two.txt")

    local = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="", dst_path=str(tmp_path)
        )
    )

    assert (local / "one.txt").read_text() == "one"
    assert (local / "dir" / "two.txt").read_text() == "two"


# Changing and deleting ------------------------------------------------------


def test_overwriting_a_file_lists_and_serves_the_new_bytes(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    client.log_text(run_id, "the first, longer version", "state.txt")

    client.log_text(run_id, "second", "state.txt")

    assert listed(client, run_id) == {"state.txt": 6}
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/state.txt") == "second"


def test_deleted_file_is_no_longer_listed(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    client.log_text(run_id, "keep", "keep.txt")
    client.log_text(run_id, "drop", "drop.txt")

    response = requests.delete(
        artifact_url(tracking_uri, client, run_id, "drop.txt"), timeout=30
    )

    assert response.status_code == 200
    assert listed(client, run_id) == {"keep.txt": 4}


def test_deleted_folder_takes_every_file_under_it(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    client.log_text(run_id, "1", "logs/a.txt")
    client.log_text(run_id, "2", "logs/deep/b.txt")
    client.log_text(run_id, "3", "logsheet.txt")

    response = requests.delete(
        artifact_url(tracking_uri, client, run_id, "logs"), timeout=30
    )

    assert response.status_code == 200
    assert listed(client, run_id) == {"logsheet.txt": 1}


def test_deleted_file_cannot_be_downloaded(
    client: MlflowClient, run_id: str, tracking_uri: str
) -> None:
    client.log_text(run_id, "gone soon", "gone.txt")
    url = artifact_url(tracking_uri, client, run_id, "gone.txt")
    requests.delete(url, timeout=30).raise_for_status()

    response = requests.get(url, timeout=30)

    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


# Multipart uploads through presigned URLs ------------------------------------


@pytest.fixture
def multipart_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the client upload files of 10 MiB or more in 5 MiB parts, to S3."""
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(10 * MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MiB))


@pytest.mark.usefixtures("multipart_upload")
def test_large_file_uploaded_in_parts_downloads_byte_for_byte(
    client: MlflowClient, run_id: str, tmp_path: Path
) -> None:
    data = random.Random(12).randbytes(12 * MiB + 123)
    client.log_artifact(run_id, str(write_file(tmp_path / "up" / "big.bin", data)))

    local = client.download_artifacts(run_id, "big.bin", str(tmp_path / "down"))

    assert Path(local).read_bytes() == data
    assert listed(client, run_id) == {"big.bin": len(data)}


@pytest.mark.usefixtures("multipart_upload")
async def test_large_file_uploaded_in_parts_is_recorded_once_with_its_size(
    client: MlflowClient, run_id: str, tmp_path: Path, tenant_db: asyncpg.Connection
) -> None:
    data = random.Random(13).randbytes(12 * MiB)

    client.log_artifact(run_id, str(write_file(tmp_path / "big.bin", data)))

    [event] = await stored_events(tenant_db, run_id, "big.bin")
    assert event.size == len(data)
    # S3 gives a multipart object the ETag "<digest>-<parts>": three 5 MiB
    # parts show the client's parts went to S3, not our proxy's 8 MiB ones.
    assert event.etag.endswith("-3")


async def test_small_file_is_recorded_once_with_its_size(
    client: MlflowClient, run_id: str, tenant_db: asyncpg.Connection
) -> None:
    client.log_text(run_id, "four", "four.txt")

    [event] = await stored_events(tenant_db, run_id, "four.txt")

    assert event.size == 4
    assert event.root.endswith(f"/{run_id}/artifacts")


# Logged models -----------------------------------------------------------------


@pytest.fixture
def logged_model(experiment_id: str) -> ModelInfo:
    with mlflow.start_run(experiment_id=experiment_id):
        info: ModelInfo = mlflow.pyfunc.log_model(
            name="doubler", python_model=Doubler(), pip_requirements=["mlflow"]
        )
    return info


def test_pyfunc_model_loads_back_by_its_models_uri(
    logged_model: ModelInfo,
) -> None:
    model = mlflow.pyfunc.load_model(f"models:/{logged_model.model_id}")

    assert model.predict([1.0, 2.5]) == [2.0, 5.0]


def test_pyfunc_model_loads_back_by_its_runs_uri(
    logged_model: ModelInfo,
) -> None:
    model = mlflow.pyfunc.load_model(f"runs:/{logged_model.run_id}/doubler")

    assert model.predict([1.0, 2.5]) == [2.0, 5.0]


def test_pyfunc_model_files_are_stored_under_the_logged_model(
    client: MlflowClient, logged_model: ModelInfo
) -> None:
    location = client.get_logged_model(logged_model.model_id).artifact_location

    names = {
        Path(info.path).name
        for info in mlflow.artifacts.list_artifacts(f"models:/{logged_model.model_id}")
    }

    assert {"MLmodel", "python_model.pkl"} <= names
    assert "python_function" in mlflow.artifacts.load_text(f"{location}/MLmodel")
