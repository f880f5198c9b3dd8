"""Handlers of ``/mlflow/runs/...``."""

from aiohttp import web

from projections.queries.run_matches import matching_runs
from projections.queries.runs import run_by_id, runs_by_id
from projections.search.filters import parse_run_filter, parse_run_order_by
from projections.search.run_query import compile_run_search
from projections.search.run_tokens import decode_run_token, encode_run_token
from tracker.api import messages as m
from tracker.api.fields import (
    RUN_STATUSES,
    enum_name,
    page_size,
    required,
    respond,
    run_id_of,
    search_page,
    tags_of,
    view_type,
)
from tracker.commands import runs as commands
from tracker.commands.experiments import parse_experiment_id
from tracker.errors import InvalidParameter, NotFound
from tracker.eventlog.events import Dataset, DatasetInput, Metric, Param, Tag
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading, writing
from tracker.tenancy.read_scopes import OneRun

MAX_SEARCH_RESULTS = 50000
DEFAULT_SEARCH_RESULTS = 1000


async def create_run(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateRun)
    experiment_id = parse_experiment_id(message.experiment_id)

    async with writing(request) as tx:
        created = await commands.create_run(
            tx,
            experiment_id,
            user_id=message.user_id or "",
            run_name=message.run_name or None,
            # Left out, the field is proto2's default on the stock server: 0.
            start_time=message.start_time or 0,
            tags=tags_of(message.tags),
        )

    # The answer is read back through the read models, so what the client
    # is told is exactly what a later get returns.
    async with reading(request) as connection:
        run = await run_by_id(connection, created.run_id)

    return respond({"run": run})


async def get_run(request: web.Request) -> web.Response:
    run_id = run_id_of(await parse(request, m.RunRef))

    async with reading(request, OneRun(run_id)) as connection:
        run = await run_by_id(connection, run_id)
    if run is None:
        raise NotFound(f"Run with id={run_id} not found")

    return respond({"run": run})


async def update_run(request: web.Request) -> web.Response:
    message = await parse(request, m.UpdateRun)
    run_id = run_id_of(message)
    status = (
        enum_name(message.status, RUN_STATUSES, "status", "")
        if message.status is not None
        else None
    )

    async with writing(request) as tx:
        await commands.update_run(
            tx,
            run_id,
            status=status,
            end_time=message.end_time,
            run_name=message.run_name or None,
        )

    async with reading(request) as connection:
        run = await run_by_id(connection, run_id)
    assert run is not None

    return respond({"run_info": run.info})


async def delete_run(request: web.Request) -> web.Response:
    run_id = run_id_of(await parse(request, m.RunRef))

    async with writing(request) as tx:
        await commands.delete_run(tx, run_id)

    return respond()


async def restore_run(request: web.Request) -> web.Response:
    run_id = run_id_of(await parse(request, m.RunRef))

    async with writing(request) as tx:
        await commands.restore_run(tx, run_id)

    return respond()


async def log_metric(request: web.Request) -> web.Response:
    message = await parse(request, m.LogMetric)
    metric = _metric(message, "")

    async with writing(request) as tx:
        await commands.log_batch(tx, run_id_of(message), metrics=[metric])

    return respond()


async def log_param(request: web.Request) -> web.Response:
    message = await parse(request, m.LogParam)
    param = Param(required(message.key, "key"), required(message.value, "value"))

    async with writing(request) as tx:
        await commands.log_batch(tx, run_id_of(message), params=[param])

    return respond()


async def set_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.SetTag)
    tag = Tag(required(message.key, "key"), required(message.value, "value"))

    async with writing(request) as tx:
        await commands.log_batch(tx, run_id_of(message), tags=[tag])

    return respond()


async def delete_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.DeleteTag)
    key = required(message.key, "key")

    async with writing(request) as tx:
        await commands.delete_run_tag(tx, run_id_of(message), key)

    return respond()


async def log_batch(request: web.Request) -> web.Response:
    message = await parse(request, m.LogBatch)
    metrics = [
        _metric(metric, f"metrics[{index}].")
        for index, metric in enumerate(message.metrics)
    ]
    params = [
        Param(required(p.key, "params.key"), required(p.value, "params.value"))
        for p in message.params
    ]

    async with writing(request) as tx:
        await commands.log_batch(
            tx,
            run_id_of(message),
            metrics=metrics,
            params=params,
            tags=tags_of(message.tags),
        )

    return respond()


async def log_inputs(request: web.Request) -> web.Response:
    message = await parse(request, m.LogInputs)
    datasets = [
        DatasetInput(
            dataset=Dataset(
                name=item.dataset.name,
                digest=item.dataset.digest,
                source_type=item.dataset.source_type,
                source=item.dataset.source,
                schema=item.dataset.schema,
                profile=item.dataset.profile,
            ),
            tags=tuple(tags_of(item.tags, "datasets.tags")),
        )
        for item in message.datasets
    ]

    async with writing(request) as tx:
        await commands.log_inputs(tx, run_id_of(message), datasets)

    return respond()


async def search_runs(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchRuns)
    max_results = page_size(
        message.max_results, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS
    )
    experiment_ids = [parse_experiment_id(raw) for raw in message.experiment_ids]
    filters = parse_run_filter(message.filter)
    order = parse_run_order_by(message.order_by)
    segments = compile_run_search(
        experiment_ids,
        view_type(message.run_view_type, "run_view_type"),
        filters,
        order,
    )
    offset, after = decode_run_token(message.page_token, segments)

    async with reading(request) as connection:
        matches = await matching_runs(
            connection, segments, offset, max_results + 1, after
        )
        runs = await runs_by_id(connection, [m.run_id for m in matches[:max_results]])

    last = matches[max_results - 1].key if len(matches) > max_results else None
    return search_page(
        "runs",
        runs,
        len(matches),
        offset,
        max_results,
        lambda next_offset: encode_run_token(next_offset, last, segments),
    )


def _metric(metric: m.MetricIn | m.LogMetric, path: str) -> Metric:
    if metric.value is None:
        raise InvalidParameter(f"Missing value for required parameter '{path}value'.")
    if metric.timestamp is None:
        msg = f"Missing value for required parameter '{path}timestamp'."
        raise InvalidParameter(msg)

    return Metric(
        key=required(metric.key, path + "key"),
        value=metric.value,
        timestamp=metric.timestamp,
        step=metric.step,
    )
