"""The bench's client-floor stand-in answers the stock client's calls."""

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from aiohttp import web
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from bench.clients import search_metric, search_param, search_tag
from bench.floor_server import create_app
from bench.search_scenarios import expected_filtered, search_filter


@pytest.fixture
def floor_uri() -> Iterator[str]:
    """The stand-in on a free loopback port, on its own loop in a thread."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, name="floor", daemon=True)
    thread.start()

    yield f"http://127.0.0.1:{port}"

    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_logged_batch_reads_back_through_get_run_and_history(floor_uri: str) -> None:
    client = MlflowClient(floor_uri)
    experiment_id = client.create_experiment("floor-round-trip")
    run_id = client.create_run(experiment_id, run_name="trip").info.run_id
    metrics = [
        Metric(key, step * 0.5 + offset, 1_000 + step, step)
        for offset, key in enumerate(("loss", "acc"))
        for step in range(50)
    ]

    client.log_batch(
        run_id,
        metrics=metrics,
        params=[Param("lr", "0.1")],
        tags=[RunTag("phase", "train")],
    )
    data = client.get_run(run_id).data
    history = client.get_metric_history(run_id, "loss")

    assert data.metrics == {"loss": 24.5, "acc": 25.5}
    assert data.params == {"lr": "0.1"}
    assert data.tags["phase"] == "train"
    assert data.tags["mlflow.runName"] == "trip"
    assert sorted(point.step for point in history) == list(range(50))


def test_search_answers_the_bench_filter_in_its_order(floor_uri: str) -> None:
    client = MlflowClient(floor_uri)
    experiment_id = client.create_experiment("floor-search")
    runs = 120
    for index in range(runs):
        started = 1_700_000_000_000 + index
        run_id = client.create_run(
            experiment_id,
            start_time=started,
            run_name=f"search-{index:07d}",
            tags={"t1": search_tag(index)},
        ).info.run_id
        metric = Metric("m0", search_metric(index), started, 0)
        param = Param("p1", search_param(index))
        client.log_batch(run_id, metrics=[metric], params=[param])

    page = client.search_runs(
        [experiment_id], search_filter(30), order_by=["metrics.m0 DESC"]
    )

    assert [run.info.run_name for run in page] == expected_filtered(runs, 30)


def test_history_pages_follow_the_token(floor_uri: str) -> None:
    client = MlflowClient(floor_uri)
    run_id = client.create_run(client.create_experiment("floor-pages")).info.run_id
    client.log_batch(run_id, metrics=[Metric("loss", 1.0, 1, s) for s in range(5)])
    query = f"run_id={run_id}&metric_key=loss&max_results=2"
    url = f"{floor_uri}/api/2.0/mlflow/metrics/get-history?{query}"

    steps: list[int] = []
    token = ""
    while True:
        with urllib.request.urlopen(url + token) as response:
            page = json.load(response)
        steps += [point["step"] for point in page["metrics"]]
        if "next_page_token" not in page:
            break
        token = f"&page_token={page['next_page_token']}"

    assert steps == [0, 1, 2, 3, 4]


def test_unknown_route_is_endpoint_not_found(floor_uri: str) -> None:
    url = f"{floor_uri}/api/2.0/mlflow/experiments/list"

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url)

    assert raised.value.code == 404
    body = json.load(raised.value)
    assert body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "experiments/list" in body["message"]


def test_unknown_run_is_resource_does_not_exist(floor_uri: str) -> None:
    client = MlflowClient(floor_uri)

    with pytest.raises(MlflowException, match="Run with id=missing not found"):
        client.get_run("missing")
