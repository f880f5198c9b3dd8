"""``POST /ajax-api/2.0/mlflow/experiments/search-datasets``.

The runs page asks which datasets an experiment's runs used, to offer them
as filters.  MLflow serves this to the UI only, under ``ajax-api``.
"""

import msgspec
from aiohttp import web

from projections.queries.datasets import dataset_summaries
from tracker.api.fields import respond
from tracker.commands.experiments import parse_experiment_id
from tracker.errors import InvalidParameter
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading

MAX_EXPERIMENTS_PER_REQUEST = 20


class SearchDatasets(msgspec.Struct):
    experiment_ids: list[str] = []


async def search_datasets(request: web.Request) -> web.Response:
    message = await parse(request, SearchDatasets)
    if not message.experiment_ids:
        msg = "SearchDatasets request must specify at least one experiment_id."
        raise InvalidParameter(msg)
    if len(message.experiment_ids) > MAX_EXPERIMENTS_PER_REQUEST:
        msg = (
            "SearchDatasets request cannot specify more than "
            f"{MAX_EXPERIMENTS_PER_REQUEST} experiment_ids. Received "
            f"{len(message.experiment_ids)} experiment_ids."
        )
        raise InvalidParameter(msg)
    experiment_ids = [parse_experiment_id(raw) for raw in message.experiment_ids]

    async with reading(request) as connection:
        summaries = await dataset_summaries(connection, experiment_ids)

    return respond({"dataset_summaries": summaries} if summaries else {})
