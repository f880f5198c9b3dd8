"""The model registry through the stock mlflow client: register, promote, load."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import mlflow
import pandas as pd  # type: ignore[import-untyped]  # no stubs installed
import pytest
import requests
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

PROMPT_TAG = "mlflow.prompt.is_prompt"
CLIENTS = 12


class Doubler(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    """A model whose predictions show which version answered: x * factor."""

    def __init__(self, factor: int = 2) -> None:
        self.factor = factor

    def predict(self, context: Any, model_input: pd.DataFrame) -> pd.DataFrame:
        return model_input * self.factor


@pytest.fixture(autouse=True)
def no_run_left_active(tracking_uri: str) -> Iterator[None]:
    """Fluent state is process-wide; a failing test must not leak its run."""
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def name(unique: str) -> str:
    """A registered model name no other test uses."""
    return f"model-{unique}"


@pytest.fixture
def run_id(client: MlflowClient, unique: str) -> str:
    """A finished run to register versions from."""
    experiment_id = client.create_experiment(f"registry-{unique}")
    created: str = client.create_run(experiment_id).info.run_id
    return created


def log_doubler(unique: str, factor: int = 2) -> tuple[str, str]:
    """Log a pyfunc model as MLflow 3 does; return its model id and run id."""
    mlflow.set_experiment(f"registry-models-{unique}")
    with mlflow.start_run() as run:
        logged = mlflow.pyfunc.log_model(
            name="model", python_model=Doubler(factor), pip_requirements=[]
        )
    model_id: str = logged.model_id
    return model_id, run.info.run_id


def log_doubler_as_run_artifacts(tmp_path: Path, factor: int = 2) -> str:
    """Log a pyfunc model into a run's own artifacts, as 2.x clients do."""
    saved = tmp_path / f"doubler-{factor}"
    mlflow.pyfunc.save_model(saved, python_model=Doubler(factor), pip_requirements=[])
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(saved), artifact_path="model")
    run_id: str = run.info.run_id
    return run_id


def versions_of(client: MlflowClient, name: str) -> list[ModelVersion]:
    found: list[ModelVersion] = client.search_model_versions(f"name = '{name}'")
    return found


def predicts(model_uri: str) -> list[int]:
    model = mlflow.pyfunc.load_model(model_uri)
    answer = model.predict(pd.DataFrame({"x": [1, 2]}))
    return [int(value) for value in answer["x"]]


# Registered models ----------------------------------------------------------


def test_create_registered_model_returns_it_with_tags_and_description(
    client: MlflowClient, name: str
) -> None:
    created = client.create_registered_model(
        name, tags={"team": "growth"}, description="churn classifier"
    )

    fetched = client.get_registered_model(name)
    assert created.name == fetched.name == name
    assert fetched.tags == {"team": "growth"}
    assert fetched.description == "churn classifier"
    assert fetched.creation_timestamp == fetched.last_updated_timestamp > 0
    assert fetched.latest_versions == []
    assert fetched.aliases == {}


def test_create_registered_model_with_a_taken_name_already_exists(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="already exists") as raised:
        client.create_registered_model(name)

    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_get_registered_model_of_a_missing_name_does_not_exist(
    client: MlflowClient, name: str
) -> None:
    with pytest.raises(MlflowException, match="not found") as raised:
        client.get_registered_model(name)

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_name_with_a_slash_is_an_invalid_parameter(client: MlflowClient) -> None:
    with pytest.raises(MlflowException, match="cannot contain") as raised:
        client.create_registered_model("team/model")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_rename_registered_model_keeps_its_versions_and_frees_the_old_name(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    client.rename_registered_model(name, f"{name}-v2")

    assert client.get_registered_model(f"{name}-v2").name == f"{name}-v2"
    [version] = versions_of(client, f"{name}-v2")
    assert (version.name, version.version) == (f"{name}-v2", "1")
    assert versions_of(client, name) == []
    client.create_registered_model(name)


def test_rename_to_a_taken_name_already_exists(client: MlflowClient, name: str) -> None:
    client.create_registered_model(name)
    client.create_registered_model(f"{name}-other")

    with pytest.raises(MlflowException, match="already exists") as raised:
        client.rename_registered_model(f"{name}-other", name)

    assert raised.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_update_registered_model_sets_the_description(
    client: MlflowClient, name: str
) -> None:
    created = client.create_registered_model(name)

    updated = client.update_registered_model(name, description="now documented")

    assert updated.description == "now documented"
    assert client.get_registered_model(name).description == "now documented"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp


def test_delete_registered_model_removes_it_and_its_versions(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    client.delete_registered_model(name)

    with pytest.raises(MlflowException) as raised:
        client.get_registered_model(name)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert versions_of(client, name) == []


def test_a_model_registered_again_under_a_deleted_name_starts_at_version_1(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.delete_registered_model(name)

    client.create_registered_model(name)
    again = client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    assert again.version == "1"


def test_delete_of_a_missing_registered_model_does_not_exist(
    client: MlflowClient, name: str
) -> None:
    with pytest.raises(MlflowException) as raised:
        client.delete_registered_model(name)

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registered_model_tags_are_set_overwritten_and_deleted(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name, tags={"team": "growth"})

    client.set_registered_model_tag(name, "team", "vision")
    client.set_registered_model_tag(name, "owner", "ana")
    client.delete_registered_model_tag(name, "owner")
    client.delete_registered_model_tag(name, "never-set")

    assert client.get_registered_model(name).tags == {"team": "vision"}


def test_a_delete_takes_its_fields_from_the_query_string_too(
    client: MlflowClient, tracking_uri: str, name: str
) -> None:
    client.create_registered_model(name, tags={"team": "growth"})

    answer = requests.delete(
        f"{tracking_uri}/ajax-api/2.0/mlflow/registered-models/delete-tag",
        params={"name": name, "key": "team"},
        timeout=30,
    )

    assert answer.status_code == 200
    assert client.get_registered_model(name).tags == {}


# Versions and their sources ---------------------------------------------------


def test_register_model_from_a_logged_model(
    client: MlflowClient, name: str, unique: str
) -> None:
    model_id, source_run = log_doubler(unique)

    version = mlflow.register_model(f"models:/{model_id}", name)

    assert version.version == "1"
    assert version.status == "READY"
    assert version.current_stage == "None"
    assert version.source == f"models:/{model_id}"
    assert version.run_id == source_run
    logged = client.get_logged_model(model_id)
    assert client.get_model_version_download_uri(name, "1") == logged.artifact_location
    assert '"version": 1' in logged.tags["mlflow.modelVersions"]


def test_register_model_from_a_runs_uri_of_a_logged_model(
    client: MlflowClient, name: str, unique: str
) -> None:
    model_id, source_run = log_doubler(unique)

    version = mlflow.register_model(f"runs:/{source_run}/model", name)

    assert version.source == f"models:/{model_id}"
    assert version.run_id == source_run
    assert predicts(f"models:/{name}/1") == [2, 4]


def test_register_model_from_a_runs_uri_of_run_artifacts(
    client: MlflowClient, name: str, unique: str, tmp_path: Path
) -> None:
    mlflow.set_experiment(f"registry-artifacts-{unique}")
    source_run = log_doubler_as_run_artifacts(tmp_path, factor=3)
    artifact_uri = client.get_run(source_run).info.artifact_uri

    version = mlflow.register_model(f"runs:/{source_run}/model", name)

    assert version.source == f"{artifact_uri}/model"
    assert version.run_id == source_run
    assert predicts(f"models:/{name}/1") == [3, 6]


def test_a_runs_uri_source_resolves_to_the_runs_artifacts(
    client: MlflowClient, name: str, unique: str, tmp_path: Path
) -> None:
    mlflow.set_experiment(f"registry-runs-{unique}")
    source_run = log_doubler_as_run_artifacts(tmp_path, factor=5)
    client.create_registered_model(name)

    version = client.create_model_version(name, f"runs:/{source_run}/model", source_run)

    artifact_uri = client.get_run(source_run).info.artifact_uri
    assert version.source == f"runs:/{source_run}/model"
    assert client.get_model_version_download_uri(name, "1") == f"{artifact_uri}/model"
    assert predicts(f"models:/{name}/1") == [5, 10]


def test_a_source_outside_the_runs_artifacts_is_an_invalid_parameter(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="must identify") as raised:
        client.create_model_version(name, "mlflow-artifacts:/0/elsewhere", run_id)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_source_with_parent_references_is_an_invalid_parameter(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="relative path") as raised:
        client.create_model_version(name, f"runs:/{run_id}/../../x", run_id)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_versions_are_numbered_per_model_and_never_reused(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_registered_model(f"{name}-other")
    source = f"runs:/{run_id}/model"
    numbers = [client.create_model_version(name, source, run_id).version for _ in "ab"]
    client.create_model_version(f"{name}-other", source, run_id)

    client.delete_model_version(name, "2")
    after_delete = client.create_model_version(name, source, run_id)

    assert [*numbers, after_delete.version] == ["1", "2", "3"]
    assert [v.version for v in versions_of(client, name)] == ["3", "1"]


def test_concurrent_registrations_get_distinct_consecutive_versions(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)

    with ThreadPoolExecutor(CLIENTS) as pool:
        numbers = list(
            pool.map(
                lambda _: client.create_model_version(
                    name, f"runs:/{run_id}/model", run_id, await_creation_for=0
                ).version,
                range(CLIENTS),
            )
        )

    assert sorted(numbers, key=int) == [str(n) for n in range(1, CLIENTS + 1)]


def test_concurrent_creates_of_one_name_register_exactly_one_model(
    client: MlflowClient, name: str
) -> None:
    def attempt(_: int) -> str:
        try:
            client.create_registered_model(name)
        except MlflowException as error:
            return str(error.error_code)
        return "OK"

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(attempt, range(CLIENTS)))

    assert outcomes.count("OK") == 1
    assert outcomes.count("RESOURCE_ALREADY_EXISTS") == CLIENTS - 1


def test_create_model_version_of_a_missing_model_does_not_exist(
    client: MlflowClient, name: str, run_id: str
) -> None:
    with pytest.raises(MlflowException, match="not found") as raised:
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_get_model_version_of_a_missing_version_does_not_exist(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="not found") as raised:
        client.get_model_version(name, "7")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_version_that_is_not_a_number_is_an_invalid_parameter(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="must be an integer") as raised:
        client.get_model_version(name, "one")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_update_model_version_sets_the_description(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    updated = client.update_model_version(name, "1", description="retrained weekly")

    assert updated.description == "retrained weekly"
    assert client.get_model_version(name, "1").description == "retrained weekly"


def test_model_version_tags_are_set_and_deleted(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(
        name, f"runs:/{run_id}/model", run_id, tags={"validated": "no"}
    )

    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, "1", "reviewer", "ana")
    client.delete_model_version_tag(name, "1", "reviewer")

    assert client.get_model_version(name, "1").tags == {"validated": "yes"}


# Aliases ---------------------------------------------------------------------


def test_load_model_by_alias_predicts(
    client: MlflowClient, name: str, unique: str
) -> None:
    model_id, _ = log_doubler(unique, factor=7)
    mlflow.register_model(f"models:/{model_id}", name)

    client.set_registered_model_alias(name, "champion", "1")

    assert predicts(f"models:/{name}@champion") == [7, 14]


def test_an_alias_moves_to_the_version_it_is_set_to_last(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in "ab":
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", "1")

    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {
        "challenger": "1",
        "champion": "2",
    }
    assert client.get_model_version(name, "1").aliases == ["challenger"]


def test_deleting_an_alias_leaves_its_version(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.set_registered_model_alias(name, "champion", "1")

    client.delete_registered_model_alias(name, "champion")

    assert client.get_registered_model(name).aliases == {}
    assert client.get_model_version(name, "1").aliases == []


def test_deleting_a_version_drops_the_aliases_naming_it(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in "ab":
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "fallback", "1")

    client.delete_model_version(name, "2")

    assert client.get_registered_model(name).aliases == {"fallback": "1"}


def test_get_model_version_by_a_missing_alias_is_an_invalid_parameter(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="alias champion not found") as raised:
        client.get_model_version_by_alias(name, "champion")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("alias", ["latest", "Latest", "v1", "V12"])
def test_reserved_alias_names_are_invalid_parameters(
    client: MlflowClient, name: str, run_id: str, alias: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    with pytest.raises(MlflowException, match="reserved") as raised:
        client.set_registered_model_alias(name, alias, "1")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_an_alias_for_a_missing_version_does_not_exist(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(name)

    with pytest.raises(MlflowException, match="not found") as raised:
        client.set_registered_model_alias(name, "champion", "3")

    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# Stages -----------------------------------------------------------------------


def test_transition_stage_moves_the_version(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    moved = client.transition_model_version_stage(name, "1", "staging")

    assert moved.current_stage == "Staging"
    assert client.get_model_version(name, "1").current_stage == "Staging"


def test_transition_with_archiving_archives_the_stages_other_versions(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in "abc":
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Staging")

    client.transition_model_version_stage(
        name, "3", "Production", archive_existing_versions=True
    )

    stages = {v.version: v.current_stage for v in versions_of(client, name)}
    assert stages == {"1": "Archived", "2": "Staging", "3": "Production"}


def test_transition_without_archiving_leaves_the_stages_other_versions(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in "ab":
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.transition_model_version_stage(name, "1", "Production")

    client.transition_model_version_stage(name, "2", "Production")

    stages = {v.version: v.current_stage for v in versions_of(client, name)}
    assert stages == {"1": "Production", "2": "Production"}


def test_transition_to_a_bad_stage_is_an_invalid_parameter(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    with pytest.raises(MlflowException, match="Invalid Model Version stage") as raised:
        client.transition_model_version_stage(name, "1", "Canary")

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_archiving_into_an_inactive_stage_is_an_invalid_parameter(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    with pytest.raises(MlflowException, match="not an Active stage") as raised:
        client.transition_model_version_stage(
            name, "1", "Archived", archive_existing_versions=True
        )

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_latest_versions_hold_the_newest_version_of_each_stage(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in "abcd":
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.transition_model_version_stage(name, "1", "Production")
    client.transition_model_version_stage(name, "2", "Production")
    client.transition_model_version_stage(name, "3", "Staging")

    in_production = client.get_latest_versions(name, stages=["Production"])
    every_stage = client.get_registered_model(name).latest_versions

    assert [v.version for v in in_production] == ["2"]
    assert {v.current_stage: v.version for v in every_stage} == {
        "None": "4",
        "Staging": "3",
        "Production": "2",
    }


def test_load_model_by_version_and_by_stage_predicts(
    client: MlflowClient, name: str, unique: str
) -> None:
    for factor in (2, 3):
        model_id, _ = log_doubler(unique, factor=factor)
        mlflow.register_model(f"models:/{model_id}", name)
    client.transition_model_version_stage(name, "1", "Production")

    assert predicts(f"models:/{name}/2") == [3, 6]
    assert predicts(f"models:/{name}/Production") == [2, 4]


# Search -----------------------------------------------------------------------


def test_search_registered_models_filters_by_name_and_tag(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(f"{name}-a", tags={"team": "growth"})
    client.create_registered_model(f"{name}-b", tags={"team": "vision"})
    client.create_registered_model(f"{name}-c")

    by_like = client.search_registered_models(f"name LIKE '{name}-%'")
    by_tag = client.search_registered_models(
        f"name LIKE '{name}-%' AND tags.team = 'vision'"
    )
    by_list = client.search_registered_models(f"name IN ('{name}-a', '{name}-c')")

    assert [m.name for m in by_like] == [f"{name}-a", f"{name}-b", f"{name}-c"]
    assert [m.name for m in by_tag] == [f"{name}-b"]
    assert [m.name for m in by_list] == [f"{name}-a", f"{name}-c"]


def test_search_registered_models_leaves_prompts_out_unless_asked(
    client: MlflowClient, name: str
) -> None:
    client.create_registered_model(f"{name}-model")
    client.create_registered_model(f"{name}-prompt")
    client.set_registered_model_tag(f"{name}-prompt", PROMPT_TAG, "true")

    default = client.search_registered_models(f"name LIKE '{name}-%'")
    prompts = client.search_registered_models(
        f"name LIKE '{name}-%' AND tags.`{PROMPT_TAG}` = 'true'"
    )

    assert [m.name for m in default] == [f"{name}-model"]
    assert [m.name for m in prompts] == [f"{name}-prompt"]


def test_search_registered_models_orders_by_the_order_keys(
    client: MlflowClient, name: str
) -> None:
    for suffix in "bac":
        client.create_registered_model(f"{name}-{suffix}")
    client.update_registered_model(f"{name}-a", description="touched last")

    by_name = client.search_registered_models(
        f"name LIKE '{name}-%'", order_by=["name DESC"]
    )
    by_update = client.search_registered_models(
        f"name LIKE '{name}-%'", order_by=["last_updated_timestamp DESC"]
    )

    assert [m.name[-1] for m in by_name] == ["c", "b", "a"]
    assert by_update[0].name == f"{name}-a"


def test_search_registered_models_pages_until_exhausted(
    client: MlflowClient, name: str
) -> None:
    for index in range(5):
        client.create_registered_model(f"{name}-{index}")

    seen: list[str] = []
    token = None
    while True:
        page = client.search_registered_models(
            f"name LIKE '{name}-%'", max_results=2, page_token=token
        )
        seen += [m.name for m in page]
        token = page.token
        if not token:
            break

    assert seen == [f"{name}-{index}" for index in range(5)]


def test_search_model_versions_filters_by_run_version_and_tag(
    client: MlflowClient, name: str, run_id: str, unique: str
) -> None:
    other_run = client.create_run(client.get_run(run_id).info.experiment_id)
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.create_model_version(
        name, f"runs:/{other_run.info.run_id}/model", other_run.info.run_id
    )
    client.create_model_version(
        name, f"runs:/{run_id}/model", run_id, tags={"validated": "yes"}
    )

    by_run = client.search_model_versions(f"name = '{name}' AND run_id = '{run_id}'")
    by_number = client.search_model_versions(f"name = '{name}' AND version_number >= 2")
    by_tag = client.search_model_versions(f"name = '{name}' AND tags.validated = 'yes'")

    assert [v.version for v in by_run] == ["3", "1"]
    assert [v.version for v in by_number] == ["3", "2"]
    assert [v.version for v in by_tag] == ["3"]


def test_search_model_versions_orders_and_pages(
    client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    for _ in range(5):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    first = client.search_model_versions(
        f"name = '{name}'", max_results=3, order_by=["version_number ASC"]
    )
    rest = client.search_model_versions(
        f"name = '{name}'",
        max_results=3,
        order_by=["version_number ASC"],
        page_token=first.token,
    )

    assert [v.version for v in first] == ["1", "2", "3"]
    assert [v.version for v in rest] == ["4", "5"]
    assert not rest.token


@pytest.mark.parametrize(
    ("filter_string", "complaint"),
    [
        ("name = 'a' OR name = 'b'", "Invalid clause"),
        ("params.lr = '1'", "Invalid entity type"),
        ("name IS NULL", "IS NULL"),
        ("creation_timestamp > 5", "Invalid attribute key"),
    ],
)
def test_search_registered_models_with_a_bad_filter_is_an_invalid_parameter(
    client: MlflowClient, filter_string: str, complaint: str
) -> None:
    with pytest.raises(MlflowException, match=complaint) as raised:
        client.search_registered_models(filter_string)

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_model_versions_by_a_listed_source_is_an_invalid_parameter(
    client: MlflowClient,
) -> None:
    with pytest.raises(MlflowException, match="support comparison with a list"):
        client.search_model_versions("source_path IN ('a', 'b')")


# The audit trail ----------------------------------------------------------------


async def test_every_registry_change_is_an_event_on_the_models_stream(
    tenant_db: asyncpg.Connection, client: MlflowClient, name: str, run_id: str
) -> None:
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    client.transition_model_version_stage(name, "1", "Production")
    client.set_registered_model_alias(name, "champion", "1")
    client.rename_registered_model(name, f"{name}-renamed")

    model_key = await tenant_db.fetchval(
        "SELECT model_key FROM decision.registered_models WHERE name = $1",
        f"{name}-renamed",
    )
    events = await tenant_db.fetch(
        "SELECT event_type, meta->>'actor' AS actor FROM es.events"
        " WHERE stream_id = $1 ORDER BY stream_version",
        f"registered-model-{model_key}",
    )
    assert [event["event_type"] for event in events] == [
        "RegisteredModelCreated",
        "ModelVersionCreated",
        "ModelVersionStageTransitioned",
        "RegisteredModelAliasSet",
        "RegisteredModelRenamed",
    ]
    assert all(event["actor"] for event in events)
