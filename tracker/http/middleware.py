"""Request middleware: context, errors, and one log line per request."""

import time
import uuid

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from tracker.context import RequestContext, current_request
from tracker.errors import EndpointNotFound, TrackerError, Unavailable
from tracker.http.errors import error_response, internal_error_response
from tracker.http.keys import SETTINGS

log = structlog.get_logger("calabi.http")

LOCAL_USER = "local"


@web.middleware
async def handle_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    context = RequestContext(
        tenant=request.app[SETTINGS].default_tenant,
        actor=LOCAL_USER,
        request_id=request.headers.get("X-Request-Id") or uuid.uuid4().hex,
        client=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )
    token = current_request.set(context)

    try:
        response = await _respond(request, handler)
    finally:
        current_request.reset(token)

    log.info(
        "request",
        tenant=context.tenant,
        actor=context.actor,
        method=request.method,
        route=_route_of(request),
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        positions=context.positions or None,
        request_id=context.request_id,
    )
    response.headers["X-Request-Id"] = context.request_id
    if context.positions:
        response.headers["X-Calabi-Position"] = str(max(context.positions))

    return response


async def _respond(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TrackerError as error:
        return error_response(error)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        message = f"No route for {request.method} {request.path}"
        return error_response(EndpointNotFound(message))
    except web.HTTPException:
        raise
    except (asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError, OSError):
        log.warning("database_unavailable", exc_info=True)
        return error_response(Unavailable("The database is unavailable; retry."))
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return internal_error_response()


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path
