"""Handlers of ``/mlflow/metrics/...``."""

from contextlib import aclosing

import asyncpg
import msgspec
import structlog
from aiohttp import web

from projections.queries.history_tokens import (
    Point,
    decode_history_token,
    encode_history_token,
)
from projections.queries.metrics import (
    history_points,
    metric_history_chunks,
    sampled_history,
)
from projections.queries.runs import run_exists
from projections.views import Metric, MetricWithRunId
from tracker.api import messages as m
from tracker.api.fields import page_size, required, respond, run_id_of
from tracker.db import Connection
from tracker.errors import InvalidParameter, NotFound, TrackerError
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading
from tracker.tenancy.read_scopes import OneRun

log = structlog.get_logger("calabi.http")

MAX_HISTORY_PAGE = 2**31 - 1
_encode = msgspec.json.Encoder().encode
MAX_BULK_RUNS = 100
MAX_BULK_POINTS_PER_RUN = 2500


async def get_metric_history(request: web.Request) -> web.StreamResponse:
    message = await parse(request, m.GetMetricHistory)
    run_id = run_id_of(message)
    key = required(message.metric_key, "metric_key")
    offset, after = decode_history_token(message.page_token)
    limit = (
        page_size(message.max_results, MAX_HISTORY_PAGE, MAX_HISTORY_PAGE)
        if message.max_results is not None
        else None
    )

    return await _streamed_history(request, run_id, key, (offset, after), limit)


async def _streamed_history(
    request: web.Request,
    run_id: str,
    key: str,
    start: tuple[int, Point | None],
    limit: int | None,
) -> web.StreamResponse:
    """The history, or a page of it, written out as it is read.

    ``start`` is the page token's offset and, in a token of ours, the last
    point of the page before.  The answer, ``{"metrics": [...],
    "next_page_token": ...}``, is built a chunk at a time, so the server
    holds about one chunk of it however long it is.  An unknown run or key
    is an empty history, ``{}``, as the stock server answers.
    """
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    offset, after = start
    sent = 0
    last: Point | None = None
    more = False
    # Each chunk waits for the run's writes before the request, and takes a
    # connection only while it is read.
    chunks = metric_history_chunks(
        lambda: reading(request, OneRun(run_id)),
        run_id,
        key,
        offset=offset,
        after=after,
        # One point past the page tells whether another page follows.
        limit=None if limit is None else limit + 1,
    )
    async with aclosing(chunks):
        try:
            async for rows in chunks:
                if limit is not None and sent + len(rows) > limit:
                    more = True
                    rows = rows[: limit - sent]
                if rows:
                    await _write_points(request, response, history_points(key, rows))
                    sent += len(rows)
                    timestamp, step, value = rows[-1]
                    last = (timestamp, step, value)
        except (asyncpg.PostgresError, OSError, TrackerError) as error:
            if not response.prepared:
                raise
            # The status line is sent, so no error response can follow:
            # the client sees a body that is not complete JSON.
            log.warning("history_stream_cut", run_id=run_id, error=repr(error))
            if request.transport is not None:
                request.transport.close()
            return response

    if not response.prepared:
        return respond()
    end = b"]"
    if more:
        assert limit is not None
        assert last is not None
        token = encode_history_token(offset + limit, last)
        end += b',"next_page_token":' + _encode(token)
    await response.write(end + b"}")
    await response.write_eof()
    return response


async def _write_points(
    request: web.Request, response: web.StreamResponse, points: list[Metric]
) -> None:
    if response.prepared:
        await response.write(b",")
    else:
        await response.prepare(request)
        await response.write(b'{"metrics":[')
    # The points' JSON array, without its brackets.
    await response.write(_encode(points)[1:-1])


async def get_metric_history_bulk_interval(request: web.Request) -> web.Response:
    message = await parse(request, m.GetMetricHistoryBulkInterval)
    interval = check_bulk_interval(
        message.metric_key,
        message.run_ids,
        max_results=message.max_results,
        start_step=message.start_step,
        end_step=message.end_step,
    )

    async with reading(request) as connection:
        points = await read_bulk_interval(connection, interval)

    return respond({"metrics": points} if points else {})


class BulkInterval(msgspec.Struct, frozen=True):
    """A checked request for sampled histories of one metric over several runs."""

    metric_key: str
    run_ids: list[str]
    max_results: int
    steps: tuple[int, int] | None


def check_bulk_interval(
    metric_key: str | None,
    run_ids: list[str],
    *,
    max_results: int | None,
    start_step: int | None,
    end_step: int | None,
) -> BulkInterval:
    """Check a bulk-interval request by MLflow's rules, for the API and the UI.

    Raises:
        InvalidParameter: A field is missing, out of range or inconsistent.
    """
    key = required(metric_key, "metric_key")
    unique_run_ids = _bulk_run_ids(run_ids)
    page = page_size(max_results, MAX_BULK_POINTS_PER_RUN, MAX_BULK_POINTS_PER_RUN)
    steps = _step_window(start_step, end_step)

    return BulkInterval(key, unique_run_ids, page, steps)


async def read_bulk_interval(
    connection: Connection, interval: BulkInterval
) -> list[MetricWithRunId]:
    """Read each run's sampled history, the runs in the request's order.

    Raises:
        NotFound: One of the runs does not exist.
    """
    points: list[MetricWithRunId] = []
    for run_id in interval.run_ids:
        if not await run_exists(connection, run_id):
            raise NotFound(f"Run with id={run_id} not found")
        points += await sampled_history(
            connection,
            run_id,
            interval.metric_key,
            max_results=interval.max_results,
            steps=interval.steps,
        )

    return points


def _bulk_run_ids(run_ids: list[str]) -> list[str]:
    if not run_ids:
        raise InvalidParameter("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > MAX_BULK_RUNS:
        msg = (
            f"GetMetricHistoryBulkInterval request must specify at most "
            f"{MAX_BULK_RUNS} run_ids. Received {len(run_ids)} run_ids."
        )
        raise InvalidParameter(msg)
    return list(dict.fromkeys(run_ids))


def _step_window(start: int | None, end: int | None) -> tuple[int, int] | None:
    if start is None and end is None:
        return None
    if start is None or end is None:
        msg = "If either start step or end step are specified, both must be specified."
        raise InvalidParameter(msg)
    if start > end:
        msg = (
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )
        raise InvalidParameter(msg)
    return (start, end)
