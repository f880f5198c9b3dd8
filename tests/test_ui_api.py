"""What the web UI asks of the server beyond the REST API, spoken over HTTP.

The page and its files, GraphQL as the UI's run and experiment pages query
it, dataset summaries, the UI's artifact routes and the probes its pages
make at load.  The browser suite shows the pages working; this one pins the
answers down.
"""

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric
from mlflow.tracking import MlflowClient

from tracker.ui.static import UiBuild

TIMEOUT = 10

GET_RUN = """
query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.RunPage") {
  mlflowGetRun(input: $data) {
    apiError { helpUrl code message }
    run {
      info { runName status runUuid experimentId startTime endTime userId }
      experiment { experimentId name tags { key value } lastUpdateTime }
      modelVersions { name version }
      data {
        metrics { key value step timestamp }
        params { key value }
        tags { key value }
      }
      inputs {
        datasetInputs { dataset { name digest } tags { key value } }
        modelInputs { modelId }
      }
      outputs { modelOutputs { modelId step } }
    }
  }
}
"""

GET_EXPERIMENT = """
query MlflowGetExperimentQuery($input: MlflowGetExperimentInput!)
    @component(name: "MLflow.ExperimentPage") {
  mlflowGetExperiment(input: $input) {
    apiError { code message }
    experiment { experimentId name creationTime lifecycleStage tags { key value } }
  }
}
"""

HISTORY = """
query GetMetricHistoryBulkInterval($data: MlflowGetMetricHistoryBulkIntervalInput!) {
  mlflowGetMetricHistoryBulkInterval(input: $data) {
    __typename
    metrics { runId key value step timestamp }
    apiError { code message }
  }
}
"""


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def run_id(client: MlflowClient, unique: str) -> str:
    experiment_id = client.create_experiment(f"ui-api-{unique}", tags={"k": "v"})
    run = client.create_run(experiment_id, run_name=f"run-{unique}")
    created: str = run.info.run_id
    client.log_batch(
        created,
        metrics=[Metric("loss", 0.5, 1_700_000_000_001, 3)],
        params=[],
    )
    client.log_param(created, "lr", "0.1")
    client.set_tag(created, "team", "vision")

    return created


def _graphql(
    http: requests.Session, tracking_uri: str, query: str, variables: Any
) -> requests.Response:
    return http.post(
        f"{tracking_uri}/graphql",
        json={"query": query, "variables": variables},
        timeout=TIMEOUT,
    )


def _data(answer: requests.Response) -> Any:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["errors"] is None, body

    return body["data"]


# The page and its files -------------------------------------------------


def test_page_is_served_at_the_prefix(
    http: requests.Session, tracking_uri: str
) -> None:
    page = http.get(f"{tracking_uri}/", timeout=TIMEOUT)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-cache"
    assert 'src="static-files/static/js/main.' in page.text


def test_prefix_without_its_slash_redirects_to_the_page(
    http: requests.Session, tracking_uri: str
) -> None:
    answer = http.get(tracking_uri, allow_redirects=False, timeout=TIMEOUT)

    assert answer.status_code == 301
    assert answer.headers["Location"] == "/mlflow/"


def test_static_files_are_cached_for_28_days(
    http: requests.Session, tracking_uri: str
) -> None:
    page = http.get(f"{tracking_uri}/", timeout=TIMEOUT).text
    script = re.search(r'src="(static-files/static/js/main\.[^"]+)"', page)
    assert script is not None

    answer = http.get(f"{tracking_uri}/{script.group(1)}", timeout=TIMEOUT)

    assert answer.status_code == 200
    assert "javascript" in answer.headers["Content-Type"]
    assert answer.headers["Cache-Control"] == "public, max-age=2419200"


@pytest.mark.parametrize(
    "path", ["%2e%2e/%2e%2e/pyproject.toml", "static/js/no-such-chunk.js"]
)
def test_static_files_outside_the_build_are_not_found(
    http: requests.Session, tracking_uri: str, path: str
) -> None:
    answer = http.get(f"{tracking_uri}/static-files/{path}", timeout=TIMEOUT)

    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


async def test_missing_build_answers_503_naming_the_fetch_command(
    tmp_path: Path,
) -> None:
    app = web.Application()
    app.router.add_get("/", UiBuild(tmp_path / "absent").index)

    async with TestClient(TestServer(app)) as http_client:
        answer = await http_client.get("/")
        text = await answer.text()

    assert answer.status == 503
    assert "python -m tracker.ui.fetch_build" in text


# GraphQL ----------------------------------------------------------------


def test_graphql_get_run_answers_the_run_page_query(
    http: requests.Session, tracking_uri: str, run_id: str, unique: str
) -> None:
    data = _data(_graphql(http, tracking_uri, GET_RUN, {"data": {"runId": run_id}}))

    answer = data["mlflowGetRun"]
    assert answer["apiError"] is None
    run = answer["run"]
    assert run["info"]["runName"] == f"run-{unique}"
    assert run["info"]["runUuid"] == run_id
    assert run["info"]["status"] == "RUNNING"
    # int64 values are strings, so JavaScript keeps every digit.
    assert isinstance(run["info"]["startTime"], str)
    assert run["info"]["endTime"] is None
    assert run["experiment"]["name"] == f"ui-api-{unique}"
    assert run["experiment"]["tags"] == [{"key": "k", "value": "v"}]
    assert run["data"]["metrics"] == [
        {"key": "loss", "value": 0.5, "step": "3", "timestamp": "1700000000001"}
    ]
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert {"key": "team", "value": "vision"} in run["data"]["tags"]
    assert run["modelVersions"] == []
    assert run["inputs"] == {"datasetInputs": [], "modelInputs": []}
    assert run["outputs"] == {"modelOutputs": []}


def test_graphql_get_run_lists_the_versions_registered_from_the_run(
    http: requests.Session,
    tracking_uri: str,
    client: MlflowClient,
    run_id: str,
    unique: str,
) -> None:
    name = f"ui-registered-{unique}"
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    data = _data(_graphql(http, tracking_uri, GET_RUN, {"data": {"runId": run_id}}))

    assert data["mlflowGetRun"]["run"]["modelVersions"] == [
        {"name": name, "version": "1"}
    ]


def test_graphql_reports_a_missing_run_in_api_error(
    http: requests.Session, tracking_uri: str
) -> None:
    variables = {"data": {"runId": "0" * 32}}

    data = _data(_graphql(http, tracking_uri, GET_RUN, variables))

    assert data["mlflowGetRun"] == {
        "apiError": {
            "helpUrl": None,
            "code": "RESOURCE_DOES_NOT_EXIST",
            "message": f"Run with id={'0' * 32} not found",
        },
        "run": None,
    }


def test_graphql_refuses_a_nul_in_an_input_in_api_error(
    http: requests.Session, tracking_uri: str
) -> None:
    variables = {"data": {"runId": "a\x00b"}}

    data = _data(_graphql(http, tracking_uri, GET_RUN, variables))

    api_error = data["mlflowGetRun"]["apiError"]
    assert api_error["code"] == "INVALID_PARAMETER_VALUE"
    assert "NUL" in api_error["message"]


def test_graphql_gives_a_nan_metric_as_null(
    http: requests.Session,
    tracking_uri: str,
    client: MlflowClient,
    run_id: str,
) -> None:
    client.log_metric(run_id, "diverged", math.nan, step=0)

    data = _data(_graphql(http, tracking_uri, GET_RUN, {"data": {"runId": run_id}}))

    metrics = data["mlflowGetRun"]["run"]["data"]["metrics"]
    assert {"key": "diverged", "value": None, "step": "0"}.items() <= next(
        metric for metric in metrics if metric["key"] == "diverged"
    ).items()


def test_graphql_get_experiment_answers_the_experiment_page_query(
    http: requests.Session, tracking_uri: str, client: MlflowClient, unique: str
) -> None:
    experiment_id = client.create_experiment(f"ui-graph-{unique}")

    data = _data(
        _graphql(
            http,
            tracking_uri,
            GET_EXPERIMENT,
            {"input": {"experimentId": experiment_id}},
        )
    )

    answer = data["mlflowGetExperiment"]
    assert answer["apiError"] is None
    assert answer["experiment"]["experimentId"] == experiment_id
    assert answer["experiment"]["name"] == f"ui-graph-{unique}"
    assert answer["experiment"]["lifecycleStage"] == "active"
    assert answer["experiment"]["creationTime"].isdigit()
    assert answer["experiment"]["tags"] == []


def test_graphql_metric_history_gives_each_point_with_its_run(
    http: requests.Session, tracking_uri: str, client: MlflowClient, run_id: str
) -> None:
    for step in range(1, 4):
        client.log_metric(run_id, "acc", step / 10, timestamp=1000 + step, step=step)
    variables = {"data": {"runIds": [run_id], "metricKey": "acc", "maxResults": 10}}

    data = _data(_graphql(http, tracking_uri, HISTORY, variables))

    answer = data["mlflowGetMetricHistoryBulkInterval"]
    assert answer["__typename"] == "MlflowGetMetricHistoryBulkIntervalResponse"
    assert answer["apiError"] is None
    assert answer["metrics"] == [
        {
            "runId": run_id,
            "key": "acc",
            "value": step / 10,
            "step": str(step),
            "timestamp": str(1000 + step),
        }
        for step in range(1, 4)
    ]


def test_graphql_metric_history_of_an_unknown_run_is_an_api_error(
    http: requests.Session, tracking_uri: str
) -> None:
    variables = {"data": {"runIds": ["f" * 32], "metricKey": "acc"}}

    data = _data(_graphql(http, tracking_uri, HISTORY, variables))

    answer = data["mlflowGetMetricHistoryBulkInterval"]
    assert answer["metrics"] == []
    assert answer["apiError"]["code"] == "RESOURCE_DOES_NOT_EXIST"


def test_graphql_invalid_query_answers_400_with_plain_string_errors(
    http: requests.Session, tracking_uri: str
) -> None:
    answer = _graphql(http, tracking_uri, "query { mlflowGetRun { nope } }", None)

    assert answer.status_code == 400
    body = answer.json()
    assert body["data"] is None
    assert body["errors"]
    assert all(isinstance(error, str) for error in body["errors"])
    assert any("nope" in error for error in body["errors"])


def test_graphql_refuses_more_than_ten_root_fields(
    http: requests.Session, tracking_uri: str
) -> None:
    fields = " ".join(
        f'r{n}: mlflowGetRun(input: {{runId: "x"}}) {{ apiError {{ code }} }}'
        for n in range(11)
    )

    answer = _graphql(http, tracking_uri, f"query {{ {fields} }}", None)

    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        "GraphQL queries should have at most 10 root fields, got 11 root fields."
    ]


def test_graphql_runs_the_operation_named_in_the_request(
    http: requests.Session, tracking_uri: str, run_id: str
) -> None:
    query = (
        'query Missing { mlflowGetRun(input: {runId: "x"}) { apiError { code } } }'
        " query Found($id: String) {"
        " mlflowGetRun(input: {runId: $id}) { run { info { runUuid } } } }"
    )

    answer = http.post(
        f"{tracking_uri}/graphql",
        json={"query": query, "variables": {"id": run_id}, "operationName": "Found"},
        timeout=TIMEOUT,
    )

    assert _data(answer) == {"mlflowGetRun": {"run": {"info": {"runUuid": run_id}}}}


def test_graphql_needs_a_query(http: requests.Session, tracking_uri: str) -> None:
    answer = http.post(f"{tracking_uri}/graphql", json={}, timeout=TIMEOUT)

    assert answer.status_code == 400
    assert answer.json() == {
        "data": None,
        "errors": ["The request carries no GraphQL query"],
    }


# Dataset summaries ------------------------------------------------------


def test_search_datasets_lists_each_dataset_with_its_context(
    http: requests.Session, tracking_uri: str, client: MlflowClient, run_id: str
) -> None:
    experiment_id = client.get_run(run_id).info.experiment_id
    dataset = Dataset("digits", "d1g3st", "local", "/data/digits.csv")
    client.log_inputs(
        run_id,
        [
            DatasetInput(dataset, [InputTag("mlflow.data.context", "training")]),
            DatasetInput(Dataset("plain", "0ff", "local", "/data/plain.csv")),
        ],
    )

    answer = http.post(
        f"{tracking_uri}/ajax-api/2.0/mlflow/experiments/search-datasets",
        json={"experiment_ids": [experiment_id]},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["dataset_summaries"] == [
        {
            "experiment_id": experiment_id,
            "name": "digits",
            "digest": "d1g3st",
            "context": "training",
        },
        {"experiment_id": experiment_id, "name": "plain", "digest": "0ff"},
    ]


def test_search_datasets_needs_an_experiment(
    http: requests.Session, tracking_uri: str
) -> None:
    answer = http.post(
        f"{tracking_uri}/ajax-api/2.0/mlflow/experiments/search-datasets",
        json={},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 400
    assert answer.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "SearchDatasets request must specify at least one experiment_id.",
    }


# Artifact routes --------------------------------------------------------


def test_get_artifact_sends_the_run_file(
    http: requests.Session, tracking_uri: str, client: MlflowClient, run_id: str
) -> None:
    client.log_text(run_id, "predictions\n", "eval/out.txt")

    answer = http.get(
        f"{tracking_uri}/get-artifact",
        params={"path": "eval/out.txt", "run_uuid": run_id},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200
    assert answer.text == "predictions\n"


def test_get_artifact_refuses_a_path_leaving_the_run(
    http: requests.Session, tracking_uri: str, run_id: str
) -> None:
    answer = http.get(
        f"{tracking_uri}/get-artifact",
        params={"path": "../../other/artifacts/x", "run_uuid": run_id},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_get_artifact_of_an_unknown_run_is_not_found(
    http: requests.Session, tracking_uri: str
) -> None:
    answer = http.get(
        f"{tracking_uri}/get-artifact",
        params={"path": "x.txt", "run_id": "e" * 32},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 404
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_upload_artifact_stores_the_file_in_the_run(
    http: requests.Session,
    tracking_uri: str,
    client: MlflowClient,
    run_id: str,
    tmp_path: Path,
) -> None:
    answer = http.post(
        f"{tracking_uri}/ajax-api/2.0/mlflow/upload-artifact",
        params={"run_uuid": run_id, "path": "charts/config.json"},
        data=b'{"charts": []}',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    assert [file.path for file in client.list_artifacts(run_id, "charts")] == [
        "charts/config.json"
    ]
    local = client.download_artifacts(run_id, "charts/config.json", str(tmp_path))
    assert Path(local).read_bytes() == b'{"charts": []}'


def test_model_version_artifact_is_sent_from_the_version_source(
    http: requests.Session,
    tracking_uri: str,
    client: MlflowClient,
    run_id: str,
    unique: str,
) -> None:
    client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
    name = f"ui-model-{unique}"
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id)

    answer = http.get(
        f"{tracking_uri}/model-versions/get-artifact",
        params={"name": name, "version": version.version, "path": "MLmodel"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    assert answer.text == "flavors: {}\n"


# Probes -----------------------------------------------------------------


def test_ui_telemetry_is_off(http: requests.Session, tracking_uri: str) -> None:
    answer = http.get(f"{tracking_uri}/ajax-api/3.0/mlflow/ui-telemetry", timeout=10)

    assert answer.status_code == 200
    assert answer.json()["disable_ui_telemetry"] is True


def test_gateway_proxy_has_no_endpoints(
    http: requests.Session, tracking_uri: str
) -> None:
    answer = http.get(
        f"{tracking_uri}/ajax-api/2.0/mlflow/gateway-proxy",
        params={"gateway_path": "api/2.0/endpoints/"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200
    assert answer.json() == {"endpoints": []}


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", "2.0/mlflow/traces?experiment_ids=1", "traces"),
        ("POST", "3.0/mlflow/traces/search", "traces"),
        ("POST", "3.0/mlflow/traces/metrics", "data_points"),
        ("POST", "3.0/mlflow/issues/search", "issues"),
        ("GET", "3.0/mlflow/scorers/list?experiment_id=1", "scorers"),
        ("POST", "3.0/mlflow/datasets/search", "datasets"),
    ],
)
def test_genai_lists_this_server_does_not_keep_are_empty(
    http: requests.Session, tracking_uri: str, method: str, path: str, field: str
) -> None:
    answer = http.request(
        method, f"{tracking_uri}/ajax-api/{path}", json={}, timeout=TIMEOUT
    )

    assert answer.status_code == 200
    assert answer.json() == {field: []}


@pytest.mark.parametrize(
    "path",
    [
        "ajax-api/2.0/mlflow/users/current",
        "ajax-api/3.0/mlflow/assistant/config",
        "ajax-api/3.0/mlflow/assistant/providers",
    ],
)
def test_probes_this_server_does_not_serve_answer_mlflow_errors(
    http: requests.Session, tracking_uri: str, path: str
) -> None:
    answer = http.get(f"{tracking_uri}/{path}", timeout=TIMEOUT)

    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
