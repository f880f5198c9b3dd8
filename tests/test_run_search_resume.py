"""Paging a run search ordered by a metric: each page starts after the last.

The token of such a page names its last run, so the next page is read from
there rather than by skipping every earlier match; these tests hold the
pages to the order of the unpaged search, ties included.
"""

import base64
import json
import math

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

# (name, m, start_time): ties on m, and on m and start_time together, so the
# start_time and then the run id decide.
RUNS = [
    ("a", 2.0, 1_000),
    ("b", 2.0, 3_000),
    ("c", 2.0, 3_000),
    ("d", -math.inf, 5_000),
    ("e", 7.5, 2_000),
    ("f", math.inf, 4_000),
    ("g", 2.0, 2_000),
    ("h", math.nan, 1_000),
]


@pytest.fixture
def experiment_id(client: MlflowClient, unique: str) -> str:
    created: str = client.create_experiment(f"resume-{unique}")
    for name, value, start in RUNS:
        run = client.create_run(created, run_name=name, start_time=start)
        client.log_metric(run.info.run_id, "m", value)
    client.create_run(created, run_name="missing", start_time=6_000)
    return created


def every_page(
    client: MlflowClient, experiment_id: str, order: str, page_size: int
) -> list[str]:
    names: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id], order_by=[order], max_results=page_size, page_token=token
        )
        names += [run.info.run_name for run in page]
        token = page.token
        if not token:
            return names


@pytest.mark.parametrize("page_size", [1, 2, 3, 4])
@pytest.mark.parametrize("order", ["metrics.m DESC", "metrics.m ASC"])
def test_pages_of_a_metric_order_list_each_run_once_in_order(
    client: MlflowClient, experiment_id: str, order: str, page_size: int
) -> None:
    unpaged = client.search_runs([experiment_id], order_by=[order])

    paged = every_page(client, experiment_id, order, page_size)

    assert paged == [run.info.run_name for run in unpaged]
    assert len(paged) == len(RUNS) + 1


def test_ties_on_the_value_go_by_latest_start_then_run_id(
    client: MlflowClient, experiment_id: str
) -> None:
    names = every_page(client, experiment_id, "metrics.m DESC", 1)

    tied = [name for name in names if name in ("a", "b", "c", "g")]
    ids = {
        run.info.run_name: run.info.run_id
        for run in client.search_runs([experiment_id], "metrics.m = 2")
    }
    assert tied[:2] == sorted(["b", "c"], key=ids.__getitem__)
    assert tied[2:] == ["g", "a"]


def test_a_token_from_another_search_pages_by_its_offset(
    client: MlflowClient, experiment_id: str
) -> None:
    first = client.search_runs(
        [experiment_id], order_by=["metrics.m DESC"], max_results=2
    )

    other = client.search_runs(
        [experiment_id],
        order_by=["metrics.m ASC"],
        max_results=2,
        page_token=first.token,
    )

    ascending = client.search_runs([experiment_id], order_by=["metrics.m ASC"])
    assert [run.info.run_id for run in other] == [
        run.info.run_id for run in ascending[2:4]
    ]


def test_an_offset_token_as_the_stock_server_sends_still_pages(
    client: MlflowClient, experiment_id: str
) -> None:
    stock_token = base64.b64encode(json.dumps({"offset": 3}).encode()).decode()

    page = client.search_runs(
        [experiment_id],
        order_by=["metrics.m DESC"],
        max_results=2,
        page_token=stock_token,
    )

    unpaged = client.search_runs([experiment_id], order_by=["metrics.m DESC"])
    assert [run.info.run_id for run in page] == [
        run.info.run_id for run in unpaged[3:5]
    ]


def test_a_token_naming_a_malformed_run_is_an_invalid_parameter(
    client: MlflowClient, experiment_id: str
) -> None:
    first = client.search_runs(
        [experiment_id], order_by=["metrics.m DESC"], max_results=2
    )
    token = json.loads(base64.b64decode(first.token))
    token["after"][1] = "not a number"
    forged = base64.b64encode(json.dumps(token).encode()).decode()

    with pytest.raises(MlflowException, match="Invalid page token") as raised:
        client.search_runs(
            [experiment_id],
            order_by=["metrics.m DESC"],
            max_results=2,
            page_token=forged,
        )

    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_run_ranked_ahead_meanwhile_does_not_shift_the_next_page(
    client: MlflowClient, experiment_id: str
) -> None:
    first = client.search_runs(
        [experiment_id], order_by=["metrics.m DESC"], max_results=2
    )
    newcomer = client.create_run(experiment_id, run_name="newcomer")
    client.log_metric(newcomer.info.run_id, "m", 100.0)

    second = client.search_runs(
        [experiment_id],
        order_by=["metrics.m DESC"],
        max_results=2,
        page_token=first.token,
    )

    assert [run.info.run_name for run in first] == ["f", "e"]
    assert "e" not in [run.info.run_name for run in second]


@pytest.mark.parametrize("page_size", [1, 2])
def test_pages_of_a_search_filtered_on_the_ordering_metric_stop_at_its_end(
    client: MlflowClient, experiment_id: str, page_size: int
) -> None:
    names: list[str] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            "metrics.m >= 2 and metrics.m < 100",
            order_by=["metrics.m DESC"],
            max_results=page_size,
            page_token=token,
        )
        names += [run.info.run_name for run in page]
        token = page.token
        if not token:
            break

    assert names[0] == "e"
    assert sorted(names[1:]) == ["a", "b", "c", "g"]
