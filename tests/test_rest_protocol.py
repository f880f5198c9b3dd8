"""The wire protocol itself, spoken with plain HTTP instead of the client."""

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from projections.queries.metrics import HISTORY_CHUNK
from tracker.http.routes import TRACKING_V2, TRACKING_V3

TIMEOUT = 10


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Api:
    """Calls to one API root, answering the decoded JSON and the status."""

    def __init__(self, session: requests.Session, root: str) -> None:
        self.session = session
        self.root = root

    def url(self, path: str) -> str:
        return f"{self.root}/{path}"

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=TIMEOUT)

    def get(self, path: str, params: Any = None) -> requests.Response:
        return self.session.get(self.url(path), params=params, timeout=TIMEOUT)

    def call(self, method: str, path: str, payload: Any) -> requests.Response:
        if method == "GET":
            return self.get(path, payload)
        return self.post(path, payload)

    def ok(self, method: str, path: str, payload: Any) -> Any:
        answer = self.call(method, path, payload)
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture
def api(tracking_uri: str, http: requests.Session) -> Api:
    return Api(http, f"{tracking_uri}/api/2.0/mlflow")


@pytest.fixture
def experiment_id(api: Api, unique: str) -> str:
    created: str = api.ok("POST", "experiments/create", {"name": f"rest-{unique}"})[
        "experiment_id"
    ]
    return created


@pytest.fixture
def run_id(api: Api, experiment_id: str) -> str:
    answer = api.ok("POST", "runs/create", {"experiment_id": experiment_id})
    created: str = answer["run"]["info"]["run_id"]
    return created


def log_steps(api: Api, run_id: str, key: str, steps: range) -> None:
    metrics = [
        {"key": key, "value": float(step), "timestamp": 1000 + step, "step": step}
        for step in steps
    ]
    api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})


def assert_error(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert body["error_code"] == code
    assert body["message"]
    return body


# Service routes ---------------------------------------------------------------


def test_health_answers_ok(tracking_uri: str, http: requests.Session) -> None:
    answer = http.get(f"{tracking_uri}/health", timeout=TIMEOUT)

    assert answer.status_code == 200
    assert answer.text == "OK"


def test_version_answers_the_mlflow_version_spoken(
    tracking_uri: str, http: requests.Session
) -> None:
    answer = http.get(f"{tracking_uri}/version", timeout=TIMEOUT)

    assert answer.status_code == 200
    assert re.fullmatch(r"\d+\.\d+\.\d+", answer.text)


def test_server_info_advertises_presigned_multipart_uploads(
    tracking_uri: str, http: requests.Session
) -> None:
    answer = http.get(f"{tracking_uri}/api/3.0/mlflow/server-info", timeout=TIMEOUT)

    assert answer.status_code == 200
    info = answer.json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is False
    assert info["artifacts_presigned_only"] is False


def test_an_unknown_route_is_a_json_endpoint_not_found(api: Api) -> None:
    answer = api.get("no/such/route")

    assert_error(answer, 404, "ENDPOINT_NOT_FOUND")


def test_a_known_path_with_the_wrong_method_is_endpoint_not_found(api: Api) -> None:
    answer = api.get("runs/create")

    assert_error(answer, 404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("version", "route"),
    [("2.0", route) for route in TRACKING_V2]
    + [("3.0", route) for route in TRACKING_V3],
    ids=lambda value: getattr(value, "path", value),
)
def test_every_route_answers_the_same_under_ajax_api(
    tracking_uri: str, http: requests.Session, version: str, route: Any
) -> None:
    # An empty request is refused or answered the same way on both roots;
    # what matters is that neither is a missing endpoint.
    # Path parameters get a value no entity has.
    path = route.path.replace("{model_id}", "m-" + "0" * 32).replace(
        "{tag_key}", "k"
    )

    def call(api: str) -> requests.Response:
        url = f"{tracking_uri}/{api}/{version}/mlflow/{path}"
        if route.method == "GET":
            return http.get(url, timeout=TIMEOUT)
        return http.request(route.method, url, json={}, timeout=TIMEOUT)

    plain, ajax = call("api"), call("ajax-api")

    assert ajax.status_code == plain.status_code
    assert ajax.json().get("error_code") != "ENDPOINT_NOT_FOUND"
    assert ajax.json().get("error_code") == plain.json().get("error_code")


# Request parsing ----------------------------------------------------------------


def test_a_post_without_a_json_content_type_is_refused(api: Api, unique: str) -> None:
    answer = api.session.post(
        api.url("experiments/create"),
        data=json.dumps({"name": f"text-{unique}"}),
        headers={"Content-Type": "text/plain"},
        timeout=TIMEOUT,
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_a_json_content_type_with_a_charset_is_accepted(api: Api, unique: str) -> None:
    answer = api.session.post(
        api.url("experiments/create"),
        data=json.dumps({"name": f"charset-{unique}"}),
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text


def test_malformed_json_is_a_bad_request_not_a_server_error(api: Api) -> None:
    answer = api.session.post(
        api.url("experiments/create"),
        data='{"name": ',
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_a_json_body_that_is_not_an_object_is_a_bad_request(api: Api) -> None:
    answer = api.post("experiments/create", ["not", "an", "object"])

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_camel_case_keys_are_accepted(api: Api, experiment_id: str) -> None:
    created = api.ok(
        "POST",
        "runs/create",
        {"experimentId": experiment_id, "runName": "camel", "startTime": 1234},
    )

    info = created["run"]["info"]
    assert info["run_name"] == "camel"
    assert info["start_time"] == 1234


def test_a_field_given_in_both_spellings_is_refused(
    api: Api, experiment_id: str
) -> None:
    answer = api.post(
        "runs/create", {"experiment_id": experiment_id, "experimentId": experiment_id}
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_numbers_given_as_strings_are_accepted(api: Api, run_id: str) -> None:
    api.ok(
        "POST",
        "runs/log-metric",
        {"run_id": run_id, "key": "m", "value": "0.5", "timestamp": "77", "step": "3"},
    )

    [point] = api.ok(
        "GET", "metrics/get-history", {"run_id": run_id, "metric_key": "m"}
    )["metrics"]
    assert point == {"key": "m", "value": 0.5, "timestamp": 77, "step": 3}


def test_enums_are_accepted_by_name_or_by_number(
    api: Api, experiment_id: str, run_id: str
) -> None:
    api.ok("POST", "runs/update", {"run_id": run_id, "status": 3})
    by_number = api.ok("GET", "runs/get", {"run_id": run_id})["run"]["info"]["status"]
    api.ok("POST", "runs/update", {"run_id": run_id, "status": "KILLED"})
    by_name = api.ok("GET", "runs/get", {"run_id": run_id})["run"]["info"]["status"]

    assert (by_number, by_name) == ("FINISHED", "KILLED")


def test_run_uuid_is_accepted_in_place_of_run_id(api: Api, run_id: str) -> None:
    answer = api.ok("GET", "runs/get", {"run_uuid": run_id})

    assert answer["run"]["info"]["run_id"] == run_id
    assert answer["run"]["info"]["run_uuid"] == run_id


def test_a_get_without_a_query_string_may_carry_a_json_body(
    api: Api, experiment_id: str
) -> None:
    answer = api.session.get(
        api.url("experiments/get"),
        json={"experiment_id": experiment_id},
        timeout=TIMEOUT,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["experiment"]["experiment_id"] == experiment_id


def test_a_run_created_without_a_start_time_starts_at_zero(
    api: Api, run_id: str, experiment_id: str
) -> None:
    found = api.ok(
        "POST",
        "runs/search",
        {"experiment_ids": [experiment_id], "filter": "attributes.start_time = 0"},
    )

    assert api.ok("GET", "runs/get", {"run_id": run_id})["run"]["info"][
        "start_time"
    ] == 0
    assert [run["info"]["run_id"] for run in found["runs"]] == [run_id]


def test_a_missing_required_field_names_the_field(api: Api, run_id: str) -> None:
    answer = api.post("runs/log-parameter", {"run_id": run_id, "value": "1"})

    body = assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
    assert "Missing value for required parameter 'key'" in body["message"]


@pytest.mark.parametrize("body", [{}, {"name": ""}], ids=["absent", "empty"])
def test_create_experiment_without_a_name_names_the_missing_field(
    api: Api, body: dict[str, str]
) -> None:
    answer = api.post("experiments/create", body)

    body = assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
    assert "Missing value for required parameter 'name'" in body["message"]


def test_get_experiment_without_an_id_names_the_missing_field(api: Api) -> None:
    answer = api.get("experiments/get")

    body = assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
    assert "Missing value for required parameter 'experiment_id'" in body["message"]


def test_a_value_of_the_wrong_type_is_an_invalid_parameter(
    api: Api, run_id: str
) -> None:
    answer = api.post(
        "runs/log-metric",
        {"run_id": run_id, "key": "m", "value": "abc", "timestamp": 1},
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_an_experiment_id_that_is_not_a_number_is_an_invalid_parameter(
    api: Api,
) -> None:
    answer = api.get("experiments/get", {"experiment_id": "abc"})

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_camel_case_keys_are_accepted_in_a_query_string(api: Api, run_id: str) -> None:
    log_steps(api, run_id, "m", range(2))

    answer = api.ok("GET", "metrics/get-history", {"runId": run_id, "metricKey": "m"})

    assert [point["step"] for point in answer["metrics"]] == [0, 1]


TOO_WIDE = 2**64


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("POST", "runs/create", {"start_time": TOO_WIDE}),
        ("POST", "runs/update", {"end_time": TOO_WIDE}),
        ("POST", "runs/log-metric", {"key": "m", "value": 1, "timestamp": TOO_WIDE}),
        (
            "GET",
            "metrics/get-history-bulk-interval",
            {"metric_key": "m", "start_step": TOO_WIDE, "end_step": TOO_WIDE},
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_integer_wider_than_64_bits_is_an_invalid_parameter(
    api: Api, experiment_id: str, run_id: str, method: str, path: str, fields: Any
) -> None:
    # Unknown fields are ignored, so every request may carry every id.
    ids = {"experiment_id": experiment_id, "run_id": run_id, "run_ids": run_id}

    answer = api.call(method, path, {**ids, **fields})

    body = assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
    assert "64-bit" in body["message"]


# Responses --------------------------------------------------------------------


def test_an_empty_answer_is_an_empty_json_object(api: Api, run_id: str) -> None:
    answer = api.post("runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == {}


def test_nan_and_infinities_are_sent_as_strings(api: Api, run_id: str) -> None:
    for key, value in (("nan", "NaN"), ("pos", "Infinity"), ("neg", "-Infinity")):
        api.ok(
            "POST",
            "runs/log-metric",
            {"run_id": run_id, "key": key, "value": value, "timestamp": 1},
        )

    answer = api.get("runs/get", {"run_id": run_id})

    def refuse_bare_constants(token: str) -> None:
        raise AssertionError(f"bare {token} in the JSON answer")

    run = json.loads(answer.text, parse_constant=refuse_bare_constants)["run"]
    values = {metric["key"]: metric["value"] for metric in run["data"]["metrics"]}
    assert values == {"nan": "NaN", "pos": "Infinity", "neg": "-Infinity"}


def test_int64_fields_are_json_numbers(api: Api, experiment_id: str) -> None:
    created = api.ok(
        "POST", "runs/create", {"experiment_id": experiment_id, "start_time": "1234"}
    )

    assert created["run"]["info"]["start_time"] == 1234


def test_a_search_with_no_hits_is_an_empty_object(api: Api, unique: str) -> None:
    answer = api.ok(
        "POST",
        "experiments/search",
        {"max_results": 10, "filter": f"name = 'nothing-{unique}'"},
    )

    assert answer == {}


# Metric history -----------------------------------------------------------------


def test_get_history_of_an_unknown_run_is_an_empty_object(api: Api) -> None:
    answer = api.ok(
        "GET", "metrics/get-history", {"run_id": "feedface", "metric_key": "m"}
    )

    assert answer == {}


def test_get_history_without_max_results_returns_every_point_and_no_token(
    api: Api, run_id: str
) -> None:
    log_steps(api, run_id, "m", range(30))

    answer = api.ok("GET", "metrics/get-history", {"run_id": run_id, "metric_key": "m"})

    assert len(answer["metrics"]) == 30
    assert "next_page_token" not in answer


@pytest.fixture
def long_history(api: Api, experiment_id: str) -> str:
    """A run whose metric ``m`` has two and a half chunks of points."""
    run_id: str = api.ok("POST", "runs/create", {"experiment_id": experiment_id})[
        "run"
    ]["info"]["run_id"]
    points = HISTORY_CHUNK * 5 // 2
    for first in range(0, points, 1000):
        log_steps(api, run_id, "m", range(first, min(first + 1000, points)))
    return run_id


def test_a_history_longer_than_a_chunk_comes_back_whole_and_in_order(
    api: Api, long_history: str
) -> None:
    answer = api.ok(
        "GET", "metrics/get-history", {"run_id": long_history, "metric_key": "m"}
    )

    steps = [point["step"] for point in answer["metrics"]]
    assert steps == list(range(HISTORY_CHUNK * 5 // 2))
    assert "next_page_token" not in answer


def test_a_page_longer_than_a_chunk_ends_at_max_results_with_a_token(
    api: Api, long_history: str
) -> None:
    page = HISTORY_CHUNK + HISTORY_CHUNK // 2
    fields = {"run_id": long_history, "metric_key": "m", "max_results": page}

    first = api.ok("GET", "metrics/get-history", fields)
    rest = api.ok(
        "GET",
        "metrics/get-history",
        {**fields, "page_token": first["next_page_token"]},
    )

    assert [p["step"] for p in first["metrics"]] == list(range(page))
    assert [p["step"] for p in rest["metrics"]] == list(
        range(page, HISTORY_CHUNK * 5 // 2)
    )
    assert "next_page_token" not in rest


def test_points_tied_on_time_and_step_across_chunks_come_back_once_each(
    api: Api, run_id: str
) -> None:
    # One timestamp and one step for every point: only the value orders
    # them, so the chunk after the first must start after a value, NaN last.
    values: list[Any] = [float(n) for n in range(HISTORY_CHUNK + 5)] + ["NaN"]
    metrics = [
        {"key": "m", "value": value, "timestamp": 7, "step": 3} for value in values
    ]
    for first in range(0, len(metrics), 1000):
        batch = metrics[first : first + 1000]
        api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": batch})

    answer = api.ok("GET", "metrics/get-history", {"run_id": run_id, "metric_key": "m"})

    assert [point["value"] for point in answer["metrics"]] == values


def test_history_pages_through_points_tied_on_time_and_step(
    api: Api, run_id: str
) -> None:
    values: list[Any] = [2.0, "NaN", 1.0, 3.0, "-Infinity"]
    metrics = [{"key": "m", "value": v, "timestamp": 7, "step": 3} for v in values]
    api.ok("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})

    fields = {"run_id": run_id, "metric_key": "m", "max_results": 2}
    seen: list[Any] = []
    token = None
    while True:
        page = api.ok("GET", "metrics/get-history", {**fields, "page_token": token})
        seen += [point["value"] for point in page["metrics"]]
        token = page.get("next_page_token")
        if not token:
            break

    assert seen == ["-Infinity", 1.0, 2.0, 3.0, "NaN"]


def test_a_history_token_with_an_offset_alone_is_taken_as_the_stock_server_sends_it(
    api: Api, run_id: str
) -> None:
    log_steps(api, run_id, "m", range(5))
    stock_token = base64.b64encode(b'{"offset": 3}').decode()

    page = api.ok(
        "GET",
        "metrics/get-history",
        {"run_id": run_id, "metric_key": "m", "page_token": stock_token},
    )

    assert [point["step"] for point in page["metrics"]] == [3, 4]


def test_a_history_token_naming_a_malformed_point_is_refused(
    api: Api, run_id: str
) -> None:
    forged = base64.b64encode(b'{"offset": 1, "after": [1, 2, "pi"]}').decode()

    answer = api.get(
        "metrics/get-history",
        {"run_id": run_id, "metric_key": "m", "page_token": forged},
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_a_streamed_answer_names_its_request_like_any_other(
    api: Api, run_id: str
) -> None:
    log_steps(api, run_id, "m", range(3))
    fields = {"run_id": run_id, "metric_key": "m"}

    answer = api.call("GET", "metrics/get-history", fields)

    assert answer.status_code == 200
    assert answer.headers["X-Request-Id"]


def test_bulk_interval_takes_run_ids_as_repeated_query_keys(
    api: Api, experiment_id: str
) -> None:
    first = api.ok("POST", "runs/create", {"experiment_id": experiment_id})
    second = api.ok("POST", "runs/create", {"experiment_id": experiment_id})
    run_ids = [first["run"]["info"]["run_id"], second["run"]["info"]["run_id"]]
    for run_id in run_ids:
        log_steps(api, run_id, "m", range(2))

    answer = api.ok(
        "GET",
        "metrics/get-history-bulk-interval",
        [("run_ids", run_ids[0]), ("run_ids", run_ids[1]), ("metric_key", "m")],
    )

    assert [(p["run_id"], p["step"]) for p in answer["metrics"]] == [
        (run_ids[0], 0),
        (run_ids[0], 1),
        (run_ids[1], 0),
        (run_ids[1], 1),
    ]


def test_bulk_interval_sampling_keeps_the_first_and_last_points(
    api: Api, run_id: str
) -> None:
    log_steps(api, run_id, "m", range(100))

    answer = api.ok(
        "GET",
        "metrics/get-history-bulk-interval",
        {"run_ids": run_id, "metric_key": "m", "max_results": 5},
    )

    steps = [point["step"] for point in answer["metrics"]]
    assert len(steps) <= 5
    assert steps[0] == 0
    assert steps[-1] == 99
    assert steps == sorted(steps)


def test_bulk_interval_with_max_results_one_keeps_only_the_last_point(
    api: Api, run_id: str
) -> None:
    log_steps(api, run_id, "m", range(10))

    answer = api.ok(
        "GET",
        "metrics/get-history-bulk-interval",
        {"run_ids": run_id, "metric_key": "m", "max_results": 1},
    )

    assert [point["step"] for point in answer["metrics"]] == [9]


def test_bulk_interval_keeps_to_the_step_window(api: Api, run_id: str) -> None:
    log_steps(api, run_id, "m", range(20))

    answer = api.ok(
        "GET",
        "metrics/get-history-bulk-interval",
        {"run_ids": run_id, "metric_key": "m", "start_step": 5, "end_step": 8},
    )

    assert [point["step"] for point in answer["metrics"]] == [5, 6, 7, 8]


@pytest.mark.parametrize("given", ["start_step", "end_step"])
def test_bulk_interval_with_only_one_window_end_is_refused(
    api: Api, run_id: str, given: str
) -> None:
    answer = api.get(
        "metrics/get-history-bulk-interval",
        {"run_ids": run_id, "metric_key": "m", given: 3},
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_bulk_interval_with_over_100_runs_is_refused(api: Api) -> None:
    run_ids = [("run_ids", f"run{i}") for i in range(101)]

    answer = api.get(
        "metrics/get-history-bulk-interval", [*run_ids, ("metric_key", "m")]
    )

    body = assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
    assert "at most 100" in body["message"]


def test_bulk_interval_of_an_unknown_run_does_not_exist(api: Api) -> None:
    answer = api.get(
        "metrics/get-history-bulk-interval",
        {"run_ids": "feedface", "metric_key": "m"},
    )

    assert_error(answer, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("max_results", [0, 2501])
def test_bulk_interval_max_results_out_of_range_is_refused(
    api: Api, run_id: str, max_results: int
) -> None:
    answer = api.get(
        "metrics/get-history-bulk-interval",
        {"run_ids": run_id, "metric_key": "m", "max_results": max_results},
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


# Search limits ------------------------------------------------------------------


def test_experiment_search_without_max_results_uses_the_default(
    api: Api, experiment_id: str, unique: str
) -> None:
    answer = api.ok("POST", "experiments/search", {"filter": f"name = 'rest-{unique}'"})

    assert [e["experiment_id"] for e in answer["experiments"]] == [experiment_id]


def test_experiment_search_over_get_takes_its_fields_from_the_query(
    api: Api, experiment_id: str, unique: str
) -> None:
    answer = api.ok(
        "GET",
        "experiments/search",
        {"filter": f"name = 'rest-{unique}'", "max_results": "5"},
    )

    assert [e["experiment_id"] for e in answer["experiments"]] == [experiment_id]


def test_experiment_search_with_max_results_zero_is_refused(api: Api) -> None:
    answer = api.post("experiments/search", {"max_results": 0})

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_experiment_search_takes_the_view_type_as_a_number(
    api: Api, experiment_id: str, unique: str
) -> None:
    api.ok("POST", "experiments/delete", {"experiment_id": experiment_id})

    deleted_only = api.ok(
        "POST",
        "experiments/search",
        {"filter": f"name = 'rest-{unique}'", "view_type": 2},
    )

    assert [e["experiment_id"] for e in deleted_only["experiments"]] == [experiment_id]


def test_run_search_over_50000_results_is_refused(api: Api, experiment_id: str) -> None:
    answer = api.post(
        "runs/search", {"experiment_ids": [experiment_id], "max_results": 50001}
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")


def test_run_search_of_50000_results_is_accepted(api: Api, experiment_id: str) -> None:
    answer = api.post(
        "runs/search", {"experiment_ids": [experiment_id], "max_results": 50000}
    )

    assert answer.status_code == 200, answer.text


def test_a_page_token_the_server_never_sent_is_refused(
    api: Api, experiment_id: str
) -> None:
    answer = api.post(
        "runs/search", {"experiment_ids": [experiment_id], "page_token": "garbage!"}
    )

    assert_error(answer, 400, "INVALID_PARAMETER_VALUE")
