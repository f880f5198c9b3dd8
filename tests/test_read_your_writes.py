"""A read after an acknowledged write sees it, whichever server process serves it."""

import asyncio

from mlflow.tracking import MlflowClient

from tests.support.processes import server_process
from tests.support.server import free_port, running_server
from tests.support.tenants import new_tenant_name
from tracker.config import Settings
from tracker.tenancy.catalog import Catalog


def test_reads_on_one_process_see_writes_acknowledged_by_another(
    cluster_url: str,
) -> None:
    tenant = new_tenant_name("ryw")
    asyncio.run(Catalog(cluster_url).create_tenant(tenant))
    port = free_port()
    in_thread = Settings(
        database_url=cluster_url, port=free_port(), default_tenant=tenant
    )

    with server_process(cluster_url, tenant, port), running_server(in_thread) as uri:
        writer = MlflowClient(f"http://127.0.0.1:{port}/mlflow")
        reader = MlflowClient(uri)
        experiment_id = writer.create_experiment("shared")

        for step in range(40):
            run_id = writer.create_run(experiment_id).info.run_id
            writer.log_metric(run_id, "m", float(step), step=step)
            writer.set_tag(run_id, "step", str(step))

            seen = reader.get_run(run_id)
            assert seen.data.metrics == {"m": float(step)}
            assert seen.data.tags["step"] == str(step)
            writer, reader = reader, writer
