"""A stand-in tracking server that does almost nothing: the client's floor.

The bench drives every server through the stock ``mlflow`` client, whose own
CPU (building a log-batch, parsing a run, a page or a history) bounds what
any server can show on a small machine. This one keeps everything in dicts
and answers only the calls of the floor scenarios, so what the same client
code reaches against it is the best any server could.

Its answers have a real server's size and shape: our server's wire entities
(``projections.views``), and the runs a search really matches, in its order,
since a page of 100 runs costs the client several times what the bench's
filter matches at the default sizes (11 runs). A search is a slice of an
answer cached per query and state of the experiment, so repeated first pages
stay a floor at any size. A history is kept in arrival order, not by step.

``python -m bench.floor_server --port N`` serves it at ``http://127.0.0.1:N``.
"""

import argparse
import itertools
import operator
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import structlog
from aiohttp import web

from projections import views
from projections.search import filters
from projections.search.page_tokens import decode_offset
from tracker import errors
from tracker.api import fields
from tracker.api import messages as m
from tracker.http.errors import error_response
from tracker.http.request_parsing import parse

log = structlog.get_logger("bench.floor")

API = "/api/2.0/mlflow"
DEFAULT_EXPERIMENT = "0"
RUN_NAME_TAG = "mlflow.runName"
SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX = 1000, 50_000
BULK_POINTS_DEFAULT, BULK_POINTS_MAX = 320, 2500
HISTORY_PAGE_MAX = 2**31 - 1


# The one body decoded straight into wire entities, to keep a thousand metrics
# as they come; the stock client sends each metric's every field, step 0 too.
class LogBatch(msgspec.Struct):
    run_id: str = ""
    metrics: list[views.Metric] = []
    params: list[views.KeyValue] = []
    tags: list[views.KeyValue] = []


_decode_batch = msgspec.json.Decoder(LogBatch).decode


# State ------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    """A run's info, the latest point of each metric, its params and tags."""

    info: views.RunInfo
    metrics: dict[str, views.Metric] = field(default_factory=dict)
    params: dict[str, views.KeyValue] = field(default_factory=dict)
    tags: dict[str, views.KeyValue] = field(default_factory=dict)

    def wire(self) -> views.Run:
        data = views.RunData(
            list(self.metrics.values()),
            list(self.params.values()),
            list(self.tags.values()),
        )
        return views.Run(self.info, data, views.RunInputs(), views.RunOutputs())


# A search's answer, and the sum of its experiments' versions when worked out.
Answer = tuple[int, list[views.Run]]


@dataclass(slots=True)
class Store:
    """Everything the stand-in holds; nothing is ever deleted."""

    experiments: dict[str, views.Experiment] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    runs_of: dict[str, list[Run]] = field(default_factory=dict)
    histories: dict[tuple[str, str], list[views.Metric]] = field(default_factory=dict)
    # Bumped by every write to one of an experiment's runs.
    versions: dict[str, int] = field(default_factory=dict)
    answers: dict[tuple[str, ...], Answer] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_experiment(self, name: str, tags: list[views.KeyValue], id_: str) -> None:
        if any(e.name == name for e in self.experiments.values()):
            raise errors.AlreadyExists(f"Experiment '{name}' already exists.")
        now = _now()
        location = f"mlflow-artifacts:/{id_}"
        self.experiments[id_] = views.Experiment(
            id_, name, location, "active", now, now, tags
        )
        self.runs_of[id_] = []
        self.versions[id_] = 0

    def run(self, run_id: str) -> Run:
        try:
            return self.runs[run_id]
        except KeyError:
            raise errors.NotFound(f"Run with id={run_id} not found") from None

    def touch(self, run: Run) -> None:
        self.versions[run.info.experiment_id] += 1


STORE = web.AppKey("store", Store)


# Handlers ---------------------------------------------------------------------


# Only the bench's readiness probe calls it, for one experiment.
async def search_experiments(request: web.Request) -> web.Response:
    experiments = list(request.app[STORE].experiments.values())

    return fields.respond({"experiments": experiments[:1]})


async def create_experiment(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateExperiment)
    name = fields.required(message.name, "name")
    store = request.app[STORE]
    experiment_id = str(next(store.ids))
    store.add_experiment(name, _pairs(message.tags), experiment_id)

    return fields.respond({"experiment_id": experiment_id})


async def create_run(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateRun)
    store = request.app[STORE]
    experiment_id = message.experiment_id or DEFAULT_EXPERIMENT
    if experiment_id not in store.experiments:
        raise errors.NotFound(f"No Experiment with id={experiment_id} exists")

    run_id = uuid.uuid4().hex
    tags = {tag.key: tag for tag in _pairs(message.tags)}
    named = tags.get(RUN_NAME_TAG)
    name = message.run_name or (named.value if named else f"floor-{run_id[:8]}")
    tags[RUN_NAME_TAG] = views.KeyValue(RUN_NAME_TAG, name)
    info = views.RunInfo(
        run_id=run_id,
        run_uuid=run_id,
        run_name=name,
        experiment_id=experiment_id,
        user_id=message.user_id or "",
        status="RUNNING",
        artifact_uri=f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts",
        lifecycle_stage="active",
        start_time=message.start_time or _now(),
    )
    run = Run(info, tags=tags)
    store.runs[run_id] = run
    store.runs_of[experiment_id].append(run)
    store.touch(run)

    return fields.respond({"run": run.wire()})


async def get_run(request: web.Request) -> web.Response:
    message = await parse(request, m.RunRef)
    run = request.app[STORE].run(fields.run_id_of(message))

    return fields.respond({"run": run.wire()})


# A rename, which the bench never asks for, is ignored.
async def update_run(request: web.Request) -> web.Response:
    message = await parse(request, m.UpdateRun)
    store = request.app[STORE]
    run = store.run(fields.run_id_of(message))
    statuses, current = fields.RUN_STATUSES, run.info.status
    run.info.status = fields.enum_name(message.status, statuses, "status", current)
    if message.end_time is not None:
        run.info.end_time = message.end_time
    store.touch(run)

    return fields.respond({"run_info": run.info})


async def log_batch(request: web.Request) -> web.Response:
    try:
        message = _decode_batch(await request.read())
    except msgspec.DecodeError as error:
        raise errors.InvalidParameter(f"Malformed log-batch: {error}") from None
    store = request.app[STORE]
    run = store.run(message.run_id)

    latest = run.metrics
    for point in message.metrics:
        # MLflow's latest value: the highest step, then timestamp, then value.
        held = latest.get(point.key)
        if held is None or _rank(point) >= _rank(held):
            latest[point.key] = point
        store.histories.setdefault((run.info.run_id, point.key), []).append(point)
    run.params.update((param.key, param) for param in message.params)
    run.tags.update((tag.key, tag) for tag in message.tags)
    store.touch(run)

    return fields.respond()


async def search_runs(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchRuns)
    matches = _search(request.app[STORE], message)
    size = fields.page_size(message.max_results, SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX)

    return _page("runs", matches, message.page_token, size)


async def get_metric_history(request: web.Request) -> web.Response:
    message = await parse(request, m.GetMetricHistory)
    store = request.app[STORE]
    run = store.run(fields.run_id_of(message))
    key = fields.required(message.metric_key, "metric_key")
    points = store.histories.get((run.info.run_id, key), [])
    size = fields.page_size(message.max_results, HISTORY_PAGE_MAX, HISTORY_PAGE_MAX)

    return _page("metrics", points, message.page_token, size)


async def get_history_bulk_interval(request: web.Request) -> web.Response:
    """An even stride through each run's history, at most ``max_results`` each."""
    message = await parse(request, m.GetMetricHistoryBulkInterval)
    store = request.app[STORE]
    key = fields.required(message.metric_key, "metric_key")
    most = fields.page_size(message.max_results, BULK_POINTS_DEFAULT, BULK_POINTS_MAX)

    sampled: list[views.MetricWithRunId] = []
    for run_id in message.run_ids:
        points = store.histories.get((store.run(run_id).info.run_id, key), [])
        sampled += [
            views.MetricWithRunId(p.key, p.value, p.timestamp, p.step, run_id)
            for p in points[:: -(-len(points) // most) or 1]
        ]
    return fields.respond({"metrics": sampled} if sampled else None)


# Search: our own parser reads the query; the stand-in evaluates comparisons
# with =, !=, <, <=, > and >=, which are all the bench's filter uses. -------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    **{"=": operator.eq, "!=": operator.ne, ">": operator.gt},
    **{">=": operator.ge, "<": operator.lt, "<=": operator.le},
}
# MLflow's order when none is asked for, without its tie break by run id.
_NEWEST_FIRST = [filters.OrderKey("attribute", "start_time", ascending=False)]


def _search(store: Store, message: m.SearchRuns) -> list[views.Run]:
    experiments = message.experiment_ids
    cache_key = (*experiments, "", message.filter or "", *message.order_by)
    # Versions only grow, so any write to these experiments changes the sum.
    version = sum(store.versions.get(e, 0) for e in experiments)
    cached = store.answers.get(cache_key)
    if cached is not None and cached[0] == version:
        return cached[1]

    comparisons = filters.parse_run_filter(message.filter)
    for odd in comparisons:
        if odd.op not in _COMPARE or odd.entity == "dataset":
            msg = f"The floor server does not evaluate {odd.entity} {odd.op}."
            raise errors.InvalidParameter(msg)
    runs = [
        run
        for experiment_id in experiments
        for run in store.runs_of.get(experiment_id, [])
        if all(_holds(run, comparison) for comparison in comparisons)
    ]
    # Stable sorts, the last key first.
    orders = filters.parse_run_order_by(message.order_by) or _NEWEST_FIRST
    for order in reversed(orders):
        _sort(runs, order)
    answer = [run.wire() for run in runs]
    store.answers[cache_key] = (version, answer)

    return answer


def _holds(run: Run, comparison: filters.Comparison) -> bool:
    held = _value(run, comparison.entity, comparison.key)

    return held is not None and _COMPARE[comparison.op](held, comparison.value)


def _sort(runs: list[Run], order: filters.OrderKey) -> None:
    descending = not order.ascending

    # Runs without a value go last either way.
    def rank(run: Run) -> tuple[bool, Any]:
        held = _value(run, order.entity, order.key)
        return (held is not None) == descending, held

    runs.sort(key=rank, reverse=descending)


def _value(run: Run, entity: str, key: str) -> Any:
    if entity == "attribute":
        return getattr(run.info, key, None)
    # A Run's dicts are named for the entities: metrics, params and tags.
    held = getattr(run, f"{entity}s").get(key)

    return None if held is None else held.value


# Plumbing ---------------------------------------------------------------------


def _page(name: str, items: list[Any], token: str | None, size: int) -> web.Response:
    offset = decode_offset(token)
    page = items[offset : offset + size]

    return fields.search_page(name, page, len(items) - offset, offset, size)


def _pairs(items: list[m.KeyValueIn]) -> list[views.KeyValue]:
    return [
        views.KeyValue(fields.required(i.key, "key"), fields.required(i.value, "value"))
        for i in items
    ]


def _rank(point: views.Metric) -> tuple[int, int, float | str]:
    return point.step, point.timestamp, point.value


def _now() -> int:
    return int(time.time() * 1000)


@web.middleware
async def mlflow_errors(
    request: web.Request,
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.TrackerError as error:
        return error_response(error)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        unknown = f"No route for {request.method} {request.path}"
        return error_response(errors.EndpointNotFound(unknown))


def create_app() -> web.Application:
    """The stand-in, holding the default experiment as MLflow's servers do."""
    app = web.Application(middlewares=[mlflow_errors], client_max_size=64 << 20)
    app[STORE] = Store()
    app[STORE].add_experiment("Default", [], DEFAULT_EXPERIMENT)
    history = f"{API}/metrics/get-history"
    app.add_routes(
        [
            web.get(f"{API}/experiments/search", search_experiments),
            web.post(f"{API}/experiments/create", create_experiment),
            web.post(f"{API}/runs/create", create_run),
            web.get(f"{API}/runs/get", get_run),
            web.post(f"{API}/runs/update", update_run),
            web.post(f"{API}/runs/log-batch", log_batch),
            web.post(f"{API}/runs/search", search_runs),
            web.get(history, get_metric_history),
            web.get(f"{history}-bulk-interval", get_history_bulk_interval),
        ]
    )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    log.info("floor_listening", host=args.host, port=args.port)
    app = create_app()
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
