"""A server killed mid log-batch keeps each batch whole or not at all."""

import asyncio
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support.processes import server_process
from tests.support.server import free_port
from tests.support.tenants import new_tenant_name
from tracker.tenancy.catalog import Catalog

POINTS_PER_BATCH = 1000


def _batch(api: str, run_id: str, index: int) -> bool:
    metrics = [
        {"key": f"batch-{index}", "value": float(step), "timestamp": step, "step": step}
        for step in range(POINTS_PER_BATCH)
    ]
    try:
        response = requests.post(
            f"{api}/runs/log-batch",
            json={"run_id": run_id, "metrics": metrics},
            timeout=30,
        )
    except requests.RequestException:
        return False
    return response.ok


def test_killed_server_leaves_every_batch_whole_or_absent(cluster_url: str) -> None:
    tenant = new_tenant_name("killed")
    asyncio.run(Catalog(cluster_url).create_tenant(tenant))
    port = free_port()
    api = f"http://127.0.0.1:{port}/mlflow/api/2.0/mlflow"
    batches = 200

    with server_process(cluster_url, tenant, port) as process:
        run_id = requests.post(
            f"{api}/runs/create", json={"experiment_id": "0"}, timeout=30
        ).json()["run"]["info"]["run_id"]
        acknowledged: list[int] = []
        enough = threading.Event()

        def send(index: int) -> None:
            if _batch(api, run_id, index):
                acknowledged.append(index)
                if len(acknowledged) >= 20:
                    enough.set()

        with ThreadPoolExecutor(8) as pool:
            for index in range(batches):
                pool.submit(send, index)
            enough.wait(timeout=120)
            process.send_signal(signal.SIGKILL)
            process.wait()

    with server_process(cluster_url, tenant, port):
        counts = {
            index: len(
                requests.get(
                    f"{api}/metrics/get-history",
                    params={"run_id": run_id, "metric_key": f"batch-{index}"},
                    timeout=30,
                )
                .json()
                .get("metrics", [])
            )
            for index in range(batches)
        }

    assert set(counts.values()) <= {0, POINTS_PER_BATCH}
    assert all(counts[index] == POINTS_PER_BATCH for index in acknowledged)
    assert 0 in counts.values(), "the kill came after every batch; nothing was tested"
