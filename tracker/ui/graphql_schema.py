"""The UI's GraphQL schema, bound to the read models.

The schema's text is ``schema.graphql``.  Resolvers answer with the REST
API's own entities (``projections.views``) turned into plain dicts, so one
definition of what a run or experiment holds serves both APIs; the field
resolver below reads their snake_case keys under the schema's camelCase
names.  A tracker error becomes the answer's ``apiError``, as MLflow's UI
expects: a run that does not exist shows the UI's "not found" page, not a
failed request.
"""

import re
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, cast

import msgspec
from aiohttp import web
from graphql import (
    GraphQLFloat,
    GraphQLList,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    get_nullable_type,
)

from projections.queries.experiments import experiment_by_id
from projections.queries.run_model_versions import model_versions_of_run
from projections.queries.runs import run_by_id
from tracker.api.metrics import check_bulk_interval, read_bulk_interval
from tracker.commands.experiments import parse_experiment_id
from tracker.errors import InvalidParameter, NotFound, TrackerError
from tracker.http.errors import mlflow_error_code
from tracker.http.limits import check_request_shape
from tracker.http.tenants import reading

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")

Answer = dict[str, Any]
Info = GraphQLResolveInfo[web.Request]
Resolver = Callable[..., Awaitable[Answer]]

_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def build_ui_schema() -> GraphQLSchema:
    """The executable schema: the SDL with its scalar and resolvers attached."""
    schema = build_schema(SCHEMA_FILE.read_text())

    # Only ever an output: the inputs the UI sends are strings and Ints.
    long_string = cast(GraphQLScalarType, schema.type_map["LongString"])
    long_string.coerce_output_value = _long_to_string

    query = schema.query_type
    assert query is not None, "the SDL defines Query"
    resolvers = {
        "mlflowGetExperiment": get_experiment,
        "mlflowGetRun": get_run,
        "mlflowGetMetricHistoryBulkInterval": get_metric_history_bulk_interval,
    }
    for field, resolver in resolvers.items():
        query.fields[field].resolve = resolver

    return schema


def _long_to_string(value: Any) -> str:
    return str(int(value))


def read_field(source: Any, info: Info, **arguments: Any) -> Any:
    """Read a camelCase field from a snake_case dict.

    The REST entities leave empty lists and unset fields out; GraphQL's
    lists answer ``[]`` for them, as MLflow's do.  A double that protobuf
    JSON spells as a string (NaN, the infinities) is null, since GraphQL's
    Float has no way to say it.
    """
    if not isinstance(source, dict):
        return None
    value = source.get(_snake(info.field_name))
    kind = get_nullable_type(info.return_type)

    if value is None and isinstance(kind, GraphQLList):
        return []
    if kind is GraphQLFloat and isinstance(value, str):
        return None
    return value


def _snake(name: str) -> str:
    return _CAMEL_HUMP.sub(lambda hump: "_" + hump.group(1).lower(), name)


def _answering_errors(resolver: Resolver) -> Resolver:
    """Report a tracker error in the answer's ``apiError``."""

    @wraps(resolver)
    async def resolve(root: Any, info: Info, **arguments: Any) -> Answer:
        try:
            return await resolver(root, info, **arguments)
        except TrackerError as error:
            code, _ = mlflow_error_code(error)
            return {"api_error": {"code": code, "message": error.message}}

    return resolve


def _input(arguments: dict[str, Any]) -> dict[str, Any]:
    """The field's ``input`` argument, held to the REST API's limits."""
    given = dict(arguments.get("input") or {})
    check_request_shape(given)

    return given


@_answering_errors
async def get_experiment(root: Any, info: Info, **arguments: Any) -> Answer:
    experiment_id = parse_experiment_id(_input(arguments).get("experimentId"))

    async with reading(info.context) as connection:
        experiment = await experiment_by_id(connection, experiment_id)
    if experiment is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists")

    return {"experiment": msgspec.to_builtins(experiment)}


@_answering_errors
async def get_run(root: Any, info: Info, **arguments: Any) -> Answer:
    fields = _input(arguments)
    run_id = fields.get("runId") or fields.get("runUuid")
    if not run_id:
        raise InvalidParameter("Missing value for required parameter 'run_id'.")

    async with reading(info.context) as connection:
        run = await run_by_id(connection, run_id)
        if run is None:
            raise NotFound(f"Run with id={run_id} not found")
        experiment = await experiment_by_id(connection, int(run.info.experiment_id))
        versions = await model_versions_of_run(connection, run_id)

    answer: Answer = msgspec.to_builtins(run)
    answer["experiment"] = msgspec.to_builtins(experiment)
    answer["model_versions"] = msgspec.to_builtins(versions)

    return {"run": answer}


@_answering_errors
async def get_metric_history_bulk_interval(
    root: Any, info: Info, **arguments: Any
) -> Answer:
    fields = _input(arguments)
    # A maxResults of 0 means the default here, where the REST API rejects it.
    interval = check_bulk_interval(
        fields.get("metricKey"),
        fields.get("runIds") or [],
        max_results=fields.get("maxResults") or None,
        start_step=fields.get("startStep"),
        end_step=fields.get("endStep"),
    )

    async with reading(info.context) as connection:
        points = await read_bulk_interval(connection, interval)

    return {"metrics": msgspec.to_builtins(points)}
