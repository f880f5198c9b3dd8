"""Handlers of ``/mlflow/experiments/...``."""

from aiohttp import web

from projections.queries.experiments import (
    experiment_by_id,
    experiment_by_name,
    experiments_by_id,
)
from projections.search.experiment_query import compile_experiment_search
from projections.search.filters import (
    parse_experiment_filter,
    parse_experiment_order_by,
)
from projections.search.page_tokens import decode_offset
from tracker.api import messages as m
from tracker.api.fields import (
    page_size,
    required,
    respond,
    search_page,
    tags_of,
    view_type,
)
from tracker.commands import experiments as commands
from tracker.commands.experiments import parse_experiment_id
from tracker.commands.validation import require
from tracker.errors import NotFound
from tracker.eventlog.events import Tag
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading, writing

MAX_SEARCH_RESULTS = 50000
DEFAULT_SEARCH_RESULTS = 1000


async def create_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateExperiment)
    # MLflow reports an absent or empty name as missing, before any name rule.
    name = require(message.name, "name")

    async with writing(request) as tx:
        experiment_id = await commands.create_experiment(
            tx, name, message.artifact_location or None, tags_of(message.tags)
        )

    return respond({"experiment_id": str(experiment_id)})


async def get_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.ExperimentRef)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with reading(request) as connection:
        experiment = await experiment_by_id(connection, experiment_id)
    if experiment is None:
        raise NotFound(f"No Experiment with id={experiment_id} exists")

    return respond({"experiment": experiment})


async def get_experiment_by_name(request: web.Request) -> web.Response:
    message = await parse(request, m.GetExperimentByName)
    name = required(message.experiment_name, "experiment_name")

    async with reading(request) as connection:
        experiment = await experiment_by_name(connection, name)
    if experiment is None:
        raise NotFound(f"Could not find experiment with name '{name}'")

    return respond({"experiment": experiment})


async def search_experiments(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchExperiments)
    max_results = page_size(
        message.max_results, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS
    )
    filters = parse_experiment_filter(message.filter)
    order = parse_experiment_order_by(message.order_by)
    offset = decode_offset(message.page_token)
    sql, args = compile_experiment_search(
        view_type(message.view_type), filters, order, offset, max_results + 1
    )

    async with reading(request) as connection:
        ids = [row[0] for row in await connection.fetch(sql, *args)]
        experiments = await experiments_by_id(connection, ids[:max_results])

    return search_page("experiments", experiments, len(ids), offset, max_results)


async def update_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.UpdateExperiment)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with writing(request) as tx:
        await commands.rename_experiment(tx, experiment_id, message.new_name)

    return respond()


async def delete_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.ExperimentRef)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with writing(request) as tx:
        await commands.delete_experiment(tx, experiment_id)

    return respond()


async def restore_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.ExperimentRef)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with writing(request) as tx:
        await commands.restore_experiment(tx, experiment_id)

    return respond()


async def set_experiment_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.SetExperimentTag)
    experiment_id = parse_experiment_id(message.experiment_id)
    tag = Tag(required(message.key, "key"), required(message.value, "value"))

    async with writing(request) as tx:
        await commands.set_experiment_tag(tx, experiment_id, tag)

    return respond()


async def delete_experiment_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.DeleteExperimentTag)
    experiment_id = parse_experiment_id(message.experiment_id)
    key = required(message.key, "key")

    async with writing(request) as tx:
        await commands.delete_experiment_tag(tx, experiment_id, key)

    return respond()
