"""Dropping the read models and replaying the log rebuilds them identically."""

import asyncio
import math

import asyncpg
import mlflow
import pandas as pd
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from projections.checksums import read_model_checksums
from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.config import Settings
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database
from tracker.tenancy.projectors import tracking_projector


def _realistic_workload(client: MlflowClient) -> None:
    """What a team's week looks like: experiments, runs, reruns, clean-ups."""
    experiment_id = client.create_experiment("churn", tags={"team": "growth"})
    scratch_id = client.create_experiment("scratch")
    client.rename_experiment(scratch_id, "scratch-old")
    client.set_experiment_tag(experiment_id, "stage", "dev")
    client.delete_experiment_tag(experiment_id, "stage")
    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, name="train")._to_mlflow_entity()

    for trial in range(6):
        run_id = client.create_run(experiment_id, run_name=f"trial-{trial}").info.run_id
        client.log_batch(
            run_id,
            params=[Param("lr", str(10**-trial)), Param("depth", str(trial))],
            tags=[RunTag("trial", str(trial)), RunTag("kind", "sweep")],
        )
        for step in range(30):
            client.log_metric(run_id, "loss", math.exp(-step / (trial + 1)), step=step)
        client.log_batch(
            run_id,
            metrics=[
                Metric("auc", 0.5 + trial / 20, 1, 0),
                Metric("odd", math.nan, 1, 0),
            ],
        )
        context = InputTag(key="mlflow.data.context", value="training")
        client.log_inputs(run_id, [DatasetInput(dataset, tags=[context])])
        child = client.create_run(
            experiment_id, tags={"mlflow.parentRunId": run_id}, run_name="fold"
        )
        client.log_metric(child.info.run_id, "fold_loss", 0.1 * trial)
        client.set_terminated(child.info.run_id)
        client.set_terminated(run_id)
        if trial % 2:
            client.set_tag(run_id, "mlflow.runName", f"renamed-{trial}")
            client.delete_tag(run_id, "kind")
        if trial == 4:
            client.delete_run(run_id)

    batch_run = client.create_run(scratch_id, run_name="batch")
    client.log_batch(
        batch_run.info.run_id,
        metrics=[Metric("m", float(i), i, i) for i in range(500)],
        params=[Param("p", "1")],
        tags=[RunTag("t", "1")],
    )
    client.set_terminated(batch_run.info.run_id, "KILLED", end_time=99)
    client.delete_experiment(scratch_id)
    client.restore_experiment(scratch_id)
    client.delete_experiment(scratch_id)


async def _checksums(cluster_url: str, tenant: str, *, rebuild: bool) -> dict:
    pool = await asyncpg.create_pool(
        cluster_url, database=tenant_database(tenant), min_size=1, max_size=2
    )
    try:
        projector = tracking_projector(pool)
        if rebuild:
            await projector.rebuild()
        else:
            # The server may stop before projecting its last acknowledged write.
            await projector.prepare()
        await projector.catch_up()
        async with pool.acquire() as connection:
            return dict(await read_model_checksums(connection))
    finally:
        await pool.close()


def test_replaying_a_client_workload_rebuilds_identical_read_models(
    cluster_url: str,
) -> None:
    tenant = new_tenant_name("replay")
    asyncio.run(Catalog(cluster_url).create_tenant(tenant))
    settings = Settings(
        database_url=cluster_url, port=free_port(), default_tenant=tenant
    )

    with running_server(settings) as uri:
        _realistic_workload(MlflowClient(uri))
    live = asyncio.run(_checksums(cluster_url, tenant, rebuild=False))

    rebuilt = asyncio.run(_checksums(cluster_url, tenant, rebuild=True))

    assert live == rebuilt
    assert live["metrics"].rows > 500
    assert live["run_inputs"].rows == 6
