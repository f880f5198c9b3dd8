"""`calabi serve --workers N`: several processes on one port, one consistent API."""

import asyncio

import requests

from tests.support.processes import server_process
from tests.support.server import free_port
from tests.support.tenants import new_tenant_name
from tracker.tenancy.catalog import Catalog


def test_every_read_sees_the_write_before_it_whichever_worker_serves_it(
    cluster_url: str,
) -> None:
    tenant = new_tenant_name("workers")
    asyncio.run(Catalog(cluster_url).create_tenant(tenant))
    port = free_port()
    api = f"http://127.0.0.1:{port}/mlflow/api/2.0/mlflow"

    with server_process(cluster_url, tenant, port, "--workers", "2"):
        for index in range(30):
            # A new connection each time, so the kernel may pick either worker.
            created = requests.post(
                f"{api}/experiments/create", json={"name": f"w{index}"}, timeout=30
            )
            experiment_id = created.json()["experiment_id"]
            found = requests.get(
                f"{api}/experiments/get",
                params={"experiment_id": experiment_id},
                timeout=30,
            )

            assert found.json()["experiment"]["name"] == f"w{index}"
