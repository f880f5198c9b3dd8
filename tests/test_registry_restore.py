"""A restore returns the model registry to its state at the target."""

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.support.restoring import Tenant, tenant_server
from tracker.config import S3Settings


@pytest.fixture
def tenant(cluster_url: str, s3_settings: S3Settings) -> Iterator[Tenant]:
    with tenant_server(cluster_url, s3_settings) as tenant:
        yield tenant


def _version(client: MlflowClient, name: str) -> str:
    run_id = client.create_run("0").info.run_id
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "model"
        model.mkdir()
        (model / "MLmodel").write_text("flavors: {}\n")
        client.log_artifacts(run_id, str(model), "model")
    return client.create_model_version(name, f"runs:/{run_id}/model", run_id).version


def test_a_restore_to_before_a_promotion_brings_back_stage_and_alias(
    tenant: Tenant,
) -> None:
    client = tenant.client
    client.create_registered_model("churn")
    first, second = _version(client, "churn"), _version(client, "churn")
    client.transition_model_version_stage("churn", first, "Production")
    client.set_registered_model_alias("churn", "champion", first)
    before = tenant.head()

    client.transition_model_version_stage(
        "churn", second, "Production", archive_existing_versions=True
    )
    client.set_registered_model_alias("churn", "champion", second)
    tenant.restore_to(before)

    assert client.get_model_version("churn", first).current_stage == "Production"
    assert client.get_model_version("churn", second).current_stage == "None"
    assert client.get_model_version_by_alias("churn", "champion").version == first


def test_version_numbers_after_a_restore_are_never_reused(tenant: Tenant) -> None:
    client = tenant.client
    client.create_registered_model("ranker")
    _version(client, "ranker")
    before = tenant.head()
    superseded = _version(client, "ranker")
    tenant.restore_to(before)

    fresh = _version(client, "ranker")

    assert int(fresh) > int(superseded)
    client.set_registered_model_alias("ranker", "latest-good", fresh)
