"""``POST <prefix>/graphql``: the queries of the UI's run and experiment pages.

The body is ``{"query", "variables", "operationName"}`` (a GET carries them
in the query string).  The answer is ``{"data", "errors"}`` where, as
MLflow's server sends them, errors are plain message strings and ``null``
when there are none.  A request that is not a valid query for the schema is
answered 400 with its errors; a query that runs is answered 200, a tracker
error in it reported in the field's ``apiError``.
"""

from inspect import isawaitable
from typing import Any

import msgspec
import structlog
from aiohttp import web
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    parse,
    validate,
)

from tracker.ui.graphql_schema import build_ui_schema, read_field

# Each root field is one read of the database; MLflow allows ten a query.
MAX_ROOT_FIELDS = 10
# The UI's largest query is under 2 KB; this bounds the parser's work.
MAX_QUERY_CHARS = 64 * 1024

log = structlog.get_logger("calabi.graphql")
_schema = build_ui_schema()
_json_object = msgspec.json.Decoder(dict[str, Any])
_encode = msgspec.json.Encoder().encode


class GraphQLRequest(msgspec.Struct, rename="camel"):
    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


async def graphql(request: web.Request) -> web.Response:
    try:
        asked = await _graphql_request(request)
    except ValueError as error:
        return _answer(None, [str(error)], status=400)

    try:
        document = parse(asked.query or "")
    except GraphQLError as error:
        return _answer(None, [error.message], status=400)
    problems = validate(_schema, document) or _too_many_root_fields(document)
    if problems:
        return _answer(None, [problem.message for problem in problems], status=400)

    result = execute(
        _schema,
        document,
        variable_values=asked.variables,
        operation_name=asked.operation_name,
        context_value=request,
        field_resolver=read_field,
    )
    if isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)

    errors = [_message(error) for error in result.errors] if result.errors else None
    return _answer(result.data, errors)


async def _graphql_request(request: web.Request) -> GraphQLRequest:
    if request.method == "GET":
        fields: dict[str, Any] = dict(request.query)
        if "variables" in fields:
            fields["variables"] = _decode(fields["variables"])
    else:
        fields = _decode(await request.read())

    try:
        asked = msgspec.convert(fields, GraphQLRequest)
    except msgspec.ValidationError as error:
        raise ValueError(f"Invalid GraphQL request: {error}") from None
    if not asked.query:
        raise ValueError("The request carries no GraphQL query")
    if len(asked.query) > MAX_QUERY_CHARS:
        raise ValueError(f"GraphQL queries are limited to {MAX_QUERY_CHARS} characters")

    return asked


def _decode(text: str | bytes) -> dict[str, Any]:
    try:
        return _json_object.decode(text)
    except msgspec.DecodeError as error:
        raise ValueError(f"Malformed JSON in GraphQL request: {error}") from None


def _too_many_root_fields(document: DocumentNode) -> list[GraphQLError]:
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        count = _count_fields(definition.selection_set, fragments, set())
        if count > MAX_ROOT_FIELDS:
            msg = (
                f"GraphQL queries should have at most {MAX_ROOT_FIELDS} root "
                f"fields, got {count} root fields."
            )
            return [GraphQLError(msg)]
    return []


def _count_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    """Fields at one level, through fragments, each fragment counted once."""
    count = 0
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            count += 1
        elif isinstance(selection, InlineFragmentNode):
            count += _count_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                count += _count_fields(fragments[name].selection_set, fragments, seen)

    return count


def _message(error: GraphQLError) -> str:
    """The error's message, unless it hides a failure of this server.

    Tracker errors are answered in ``apiError`` by the resolvers, so an
    exception that reaches the executor is a bug or an outage: logged here,
    and reported without its text, which may quote a database.
    """
    failure = error.original_error
    if failure is None or isinstance(failure, GraphQLError):
        return error.message

    log.error("graphql_field_failed", path=error.path, exc_info=failure)
    return "The server failed to handle the request."


def _answer(
    data: dict[str, Any] | None, errors: list[str] | None, status: int = 200
) -> web.Response:
    return web.Response(
        status=status,
        body=_encode({"data": data, "errors": errors}),
        content_type="application/json",
    )
