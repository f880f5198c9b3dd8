"""Handlers of MLflow 3's ``/mlflow/logged-models...`` and the runs' links to them."""

from aiohttp import web

from projections.queries.logged_models import logged_models_by_id
from projections.search.logged_model_query import compile_logged_model_search
from projections.search.page_tokens import decode_offset
from tracker.api import messages as m
from tracker.api.fields import (
    enum_name,
    page_size,
    required,
    respond,
    run_id_of,
    search_page,
    tags_of,
)
from tracker.commands import logged_models as commands
from tracker.commands.experiments import parse_experiment_id
from tracker.commands.logged_models import MODEL_STATUSES
from tracker.errors import NotFound
from tracker.eventlog.events import ModelOutput, Param
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading, writing

DEFAULT_SEARCH_RESULTS = 50
MAX_SEARCH_RESULTS = 1000


async def create_logged_model(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateLoggedModel)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with writing(request) as tx:
        model_id = await commands.create_logged_model(
            tx,
            experiment_id,
            name=message.name or None,
            model_type=message.model_type,
            source_run_id=message.source_run_id,
            params=_params(message.params),
            tags=tags_of(message.tags),
        )

    return await _answer_model(request, model_id)


async def get_logged_model(request: web.Request) -> web.Response:
    message = await parse(request, m.GetLoggedModel)

    return await _answer_model(
        request, request.match_info["model_id"], include_deleted=message.allow_deleted
    )


async def finalize_logged_model(request: web.Request) -> web.Response:
    message = await parse(request, m.FinalizeLoggedModel)
    status = enum_name(
        required(message.status, "status"),  # type: ignore[arg-type]
        MODEL_STATUSES,
        "status",
        "",
    )
    model_id = request.match_info["model_id"]

    async with writing(request) as tx:
        await commands.finalize_logged_model(tx, model_id, status)

    return await _answer_model(request, model_id)


async def delete_logged_model(request: web.Request) -> web.Response:
    async with writing(request) as tx:
        await commands.delete_logged_model(tx, request.match_info["model_id"])

    return respond()


async def set_logged_model_tags(request: web.Request) -> web.Response:
    message = await parse(request, m.LoggedModelTags)
    model_id = request.match_info["model_id"]

    async with writing(request) as tx:
        await commands.set_logged_model_tags(tx, model_id, tags_of(message.tags))

    return await _answer_model(request, model_id)


async def delete_logged_model_tag(request: web.Request) -> web.Response:
    model_id, key = request.match_info["model_id"], request.match_info["tag_key"]

    async with writing(request) as tx:
        await commands.delete_logged_model_tag(tx, model_id, key)

    return respond()


async def log_logged_model_params(request: web.Request) -> web.Response:
    message = await parse(request, m.LoggedModelParams)
    model_id = request.match_info["model_id"]

    async with writing(request) as tx:
        await commands.log_logged_model_params(tx, model_id, _params(message.params))

    return respond()


async def search_logged_models(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchLoggedModels)
    max_results = page_size(
        message.max_results, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS
    )
    offset = decode_offset(message.page_token)
    sql, args = compile_logged_model_search(
        [parse_experiment_id(raw) for raw in message.experiment_ids],
        message.filter,
        [(order.field_name or "", order.ascending) for order in message.order_by],
        offset,
        max_results + 1,
    )

    async with reading(request) as connection:
        ids = [row[0] for row in await connection.fetch(sql, *args)]
        models = await logged_models_by_id(connection, ids[:max_results])

    return search_page("models", models, len(ids), offset, max_results)


async def log_outputs(request: web.Request) -> web.Response:
    message = await parse(request, m.LogOutputs)
    outputs = [
        ModelOutput(required(item.model_id, "models.model_id"), item.step)
        for item in message.models
    ]

    async with writing(request) as tx:
        await commands.log_outputs(tx, run_id_of(message), outputs)

    return respond()


async def log_model(request: web.Request) -> web.Response:
    message = await parse(request, m.LogModel)
    model_json = required(message.model_json, "model_json")

    async with writing(request) as tx:
        await commands.log_model_history(tx, run_id_of(message), model_json)

    return respond()


async def _answer_model(
    request: web.Request, model_id: str, *, include_deleted: bool = False
) -> web.Response:
    async with reading(request) as connection:
        found = await logged_models_by_id(
            connection, [model_id], include_deleted=include_deleted
        )
    if not found:
        raise NotFound(f"Logged model with ID '{model_id}' not found.")

    return respond({"model": found[0]})


def _params(items: list[m.KeyValueIn]) -> list[Param]:
    return [
        Param(required(item.key, "params.key"), required(item.value, "params.value"))
        for item in items
    ]
