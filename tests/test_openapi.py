"""The published OpenAPI description matches the route table it is made from."""

import json
from pathlib import Path

from tracker.http.openapi import openapi_document, published_routes, render

COMMITTED = Path(__file__).parent.parent / "schemas" / "openapi.json"


def test_committed_description_is_up_to_date() -> None:
    # If this fails, run `make openapi` and commit schemas/openapi.json.
    assert COMMITTED.read_text() == render()


def test_every_published_route_is_an_operation() -> None:
    document = openapi_document()
    operations = {
        (method.upper(), path)
        for path, methods in document["paths"].items()
        for method in methods
    }

    assert operations == {(method, path) for method, path, _ in published_routes()}


def test_a_post_route_takes_its_message_as_a_json_body() -> None:
    operation = openapi_document()["paths"]["/api/2.0/mlflow/runs/log-batch"]["post"]

    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/LogBatch"}


def test_a_get_route_takes_its_message_as_query_parameters() -> None:
    operation = openapi_document()["paths"]["/api/2.0/mlflow/runs/get"]["get"]

    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"run_id", "run_uuid"}
    assert all(parameter["in"] == "query" for parameter in operation["parameters"])


def test_open_routes_need_no_credentials_and_others_say_their_role() -> None:
    paths = openapi_document()["paths"]

    assert paths["/health"]["get"]["security"] == []
    assert "security" not in paths["/api/2.0/mlflow/runs/create"]["post"]
    assert "editor" in paths["/api/2.0/mlflow/runs/create"]["post"]["description"]


def test_the_description_is_valid_json_with_its_components() -> None:
    document = json.loads(COMMITTED.read_text())

    assert document["openapi"].startswith("3.1")
    assert "ErrorBody" in document["components"]["schemas"]
