"""An OpenAPI 3.1 description of the HTTP API, made from the route table.

Each route's request message is the struct its handler parses (found in the
handler's source: every handler calls ``parse(request, <Message>)``), and
msgspec writes the structs' JSON Schemas.  GET routes take the message's
fields as query parameters, the others as a JSON body; the role each route
needs comes from ``tracker.auth.roles``.  The web UI's own routes are not
part of the published API and are left out.

``python -m tracker.http.openapi`` prints the document; schemas/openapi.json
is that output, and a test keeps the two the same.
"""

import inspect
import json
import re
import sys
from collections.abc import Callable
from typing import Any

import msgspec

from tracker.api.service import MLFLOW_PROTOCOL_VERSION
from tracker.auth.roles import required_role, route_key
from tracker.config import Settings
from tracker.http.app import create_app
from tracker.http.errors import ErrorBody

PREFIX = "/mlflow"
REF_TEMPLATE = "#/components/schemas/{name}"
_PARSED = re.compile(r"\bparse\(\s*request\s*,\s*([\w.]+)\s*\)")
_PARAMETER = re.compile(r"\{(\w+)\}")
_PUBLISHED = re.compile(r"^/(api/[0-9.]+/|health$|version$)")
# Routes whose body is bytes, not a message.
_BYTES_BODY = frozenset({("PUT", "api/2.0/mlflow-artifacts/artifacts/{path}")})
_TEXT_ANSWER = frozenset({"health", "version"})
_BYTES_ANSWER = frozenset({"api/2.0/mlflow-artifacts/artifacts/{path}"})


def request_message(handler: Callable[..., Any]) -> type[msgspec.Struct] | None:
    """The message struct ``handler`` parses its request into, if any."""
    found = _PARSED.search(inspect.getsource(handler))
    if found is None:
        return None

    value: Any = handler.__globals__
    for part in found.group(1).split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    if not (isinstance(value, type) and issubclass(value, msgspec.Struct)):
        raise TypeError(f"{handler.__qualname__} parses into {value!r}")

    return value


def published_routes() -> list[tuple[str, str, Callable[..., Any]]]:
    """(method, path below the prefix, handler) of every published route."""
    app = create_app(Settings(database_url="postgresql://never-connected"))
    routes = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = route.resource.canonical.removeprefix(PREFIX)
        if _PUBLISHED.match(path):
            routes.append((route.method, path, route.handler))

    return sorted(routes, key=lambda route: (route[1], route[0]))


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the published routes."""
    routes = published_routes()
    messages = {handler: request_message(handler) for _, _, handler in routes}
    structs = sorted(
        {message for message in messages.values() if message is not None},
        key=lambda struct: struct.__name__,
    )
    _, components = msgspec.json.schema_components(
        [*structs, ErrorBody], ref_template=REF_TEMPLATE
    )

    paths: dict[str, dict[str, Any]] = {}
    for method, path, handler in routes:
        operation = _operation(method, path, messages[handler], components)
        paths.setdefault(path, {})[method.lower()] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Calabi ML tracking API",
            "version": MLFLOW_PROTOCOL_VERSION,
            "description": (
                "MLflow's REST API as Calabi ML serves it, under the server's "
                "URL prefix. Every route is also served under /ajax-api/ for "
                "the web UI. Callers sign in with a bearer token (an OIDC "
                "access token or a script token) or Basic with a script token "
                "as the password."
            ),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def _operation(
    method: str,
    path: str,
    message: type[msgspec.Struct] | None,
    components: dict[str, Any],
) -> dict[str, Any]:
    role = required_role(method, route_key(path, ""))
    operation: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{method} {path}").strip("_"),
        "tags": [_tag(path)],
        "description": (
            f"Needs the {role.label} role." if role else "Needs no credentials."
        ),
    }
    if role is None:
        operation["security"] = []

    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(path)
    ]
    if (method, path.lstrip("/")) in _BYTES_BODY:
        operation["requestBody"] = {
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            }
        }
    elif message is not None and method == "GET":
        parameters += _query_parameters(components[message.__name__])
    elif message is not None:
        operation["requestBody"] = {
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(name=message.__name__)}
                }
            }
        }
    if parameters:
        operation["parameters"] = parameters

    operation["responses"] = {
        "200": _success(path.lstrip("/")),
        "default": {
            "description": "An MLflow error.",
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(name="ErrorBody")}
                }
            },
        },
    }

    return operation


def _query_parameters(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's scalar and list fields as query parameters.

    A query string cannot say null, so the null arm of each field goes.
    """
    parameters = []
    for name, field in schema.get("properties", {}).items():
        arms = [arm for arm in field.get("anyOf", [field]) if arm.get("type") != "null"]
        value = arms[0] if len(arms) == 1 else {"anyOf": arms}
        value = {key: item for key, item in value.items() if key != "default"}
        # Nested messages cannot travel in a query string.
        if "$ref" in json.dumps(value):
            continue
        parameter: dict[str, Any] = {"name": name, "in": "query", "schema": value}
        if value.get("type") == "array":
            parameter |= {"style": "form", "explode": True}
        parameters.append(parameter)

    return parameters


def _success(path: str) -> dict[str, Any]:
    if path in _TEXT_ANSWER:
        media = {"text/plain": {"schema": {"type": "string"}}}
    elif path in _BYTES_ANSWER:
        media = {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}
            }
        }
    else:
        media = {"application/json": {"schema": {"type": "object"}}}

    return {"description": "The answer.", "content": media}


def _tag(path: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    if len(segments) < 4:
        return "service"
    return segments[3]


def render() -> str:
    """The document as committed: indented JSON ending in a newline."""
    return json.dumps(openapi_document(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
