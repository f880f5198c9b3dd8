"""Rebuilding the registry's read models from the log gives the same rows."""

import asyncio

import asyncpg
from mlflow.tracking import MlflowClient

from projections.checksums import TableChecksum, read_model_checksums
from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.config import Settings
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import registry_projector

REGISTRY_SCHEMA = "registry_rm"


def _promotion_workload(client: MlflowClient) -> None:
    """A quarter of model reviews: register, promote, rename, retire."""
    experiment_id = client.create_experiment("churn")
    runs = [client.create_run(experiment_id).info.run_id for _ in range(3)]
    logged = client.create_logged_model(
        experiment_id, name="gbm", source_run_id=runs[0]
    )

    client.create_registered_model("churn", tags={"team": "growth"}, description="v0")
    for run_id in runs:
        client.create_model_version("churn", f"runs:/{run_id}/model", run_id)
    client.create_model_version(
        "churn", f"models:/{logged.model_id}", model_id=logged.model_id
    )
    client.set_model_version_tag("churn", "1", "validated", "yes")
    client.set_model_version_tag("churn", "2", "validated", "no")
    client.delete_model_version_tag("churn", "2", "validated")
    client.update_model_version("churn", "3", description="weekly retrain")
    client.transition_model_version_stage("churn", "1", "Production")
    client.transition_model_version_stage("churn", "2", "Staging")
    client.transition_model_version_stage(
        "churn", "3", "Production", archive_existing_versions=True
    )
    client.set_registered_model_alias("churn", "champion", "1")
    client.set_registered_model_alias("churn", "champion", "3")
    client.set_registered_model_alias("churn", "challenger", "4")
    client.set_registered_model_alias("churn", "old", "2")
    client.delete_registered_model_alias("churn", "old")
    client.delete_model_version("churn", "4")
    client.set_registered_model_tag("churn", "owner", "ana")
    client.delete_registered_model_tag("churn", "team")
    client.update_registered_model("churn", description="gradient boosting")
    client.rename_registered_model("churn", "churn-gbm")
    client.create_model_version("churn-gbm", f"runs:/{runs[1]}/model", runs[1])

    client.create_registered_model("scratch")
    client.create_model_version("scratch", f"runs:/{runs[2]}/model", runs[2])
    client.set_registered_model_alias("scratch", "tmp", "1")
    client.delete_registered_model("scratch")
    client.create_registered_model("scratch")


async def _checksums(
    cluster_url: str, tenant: str, *, rebuild_batch: int | None
) -> dict[str, TableChecksum]:
    pool = await asyncpg.create_pool(
        cluster_url, database=tenant_database(tenant), min_size=1, max_size=2
    )
    try:
        projector = registry_projector(pool, batch_size=rebuild_batch or 2000)
        if rebuild_batch is None:
            # The server may stop before projecting its last acknowledged write.
            await projector.prepare()
        else:
            await projector.rebuild()
        await projector.catch_up()
        async with pool.acquire() as connection:
            return await read_model_checksums(connection, schema=REGISTRY_SCHEMA)
    finally:
        await pool.close()


def test_rebuilding_the_registry_from_the_log_gives_identical_read_models(
    cluster_url: str,
) -> None:
    tenant = new_tenant_name("registry-replay")
    asyncio.run(Catalog(cluster_url).create_tenant(tenant))
    settings = Settings(
        database_url=cluster_url, port=free_port(), default_tenant=tenant
    )
    with running_server(settings) as uri:
        _promotion_workload(MlflowClient(uri))
    live = asyncio.run(_checksums(cluster_url, tenant, rebuild_batch=None))

    # One batch merges every event; batches of one apply them one by one.
    in_one_batch = asyncio.run(_checksums(cluster_url, tenant, rebuild_batch=2000))
    one_by_one = asyncio.run(_checksums(cluster_url, tenant, rebuild_batch=1))

    assert live == in_one_batch == one_by_one
    assert live["model_versions"].rows == 4
    assert live["registered_model_aliases"].rows == 1
