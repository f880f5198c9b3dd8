"""Request middleware: sign-in, roles, context, errors, one log line per request.

The caller's identity is resolved here, once, before any handler runs; it
alone decides the tenant, the actor recorded in events, and (by the route's
required role, ``tracker.auth.roles``) whether the request is served.
"""

import asyncio
import time
import uuid
from urllib.parse import urlencode

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from tracker.auth.roles import check_role, required_role, route_key
from tracker.context import RequestContext, current_request
from tracker.errors import (
    EndpointNotFound,
    InvalidParameter,
    PayloadTooLarge,
    TrackerError,
    Unauthenticated,
    Unavailable,
)
from tracker.http.errors import error_response, internal_error_response
from tracker.http.keys import ACCESS, SETTINGS

log = structlog.get_logger("calabi.http")

# The actor of a request not (yet) signed in: open routes, refused requests.
ANONYMOUS = "anonymous"
MAX_REQUEST_ID_LENGTH = 128
REQUEST_CONTEXT = web.RequestKey("request_context", RequestContext)
# The web UI's page, as ``route_key`` names it.
UI_PAGE = ""


@web.middleware
async def handle_request(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    context = RequestContext(
        tenant=request.app[SETTINGS].default_tenant,
        actor=ANONYMOUS,
        request_id=_request_id(request),
        client=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )
    token = current_request.set(context)
    request[REQUEST_CONTEXT] = context

    try:
        response = await _respond(request, handler, context)
    finally:
        current_request.reset(token)

    # The line names the route, never the query string or any header: those
    # may carry credentials.
    log.info(
        "request",
        tenant=context.tenant if context.actor != ANONYMOUS else None,
        actor=context.actor,
        method=request.method,
        route=_route_of(request),
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        positions=context.positions or None,
        barrier_ms=round(context.barrier_wait * 1000, 2) or None,
        request_id=context.request_id,
    )

    return response


async def add_request_headers(
    request: web.Request, response: web.StreamResponse
) -> None:
    """Name the request and the log position it wrote, on every answer.

    Run as the answer's headers are sent (``on_response_prepare``), so a
    streamed answer, whose headers go out while its handler runs, carries
    them as well as one sent after the handler returns.
    """
    context = request.get(REQUEST_CONTEXT)
    if context is None:
        return
    response.headers["X-Request-Id"] = context.request_id
    if context.positions:
        response.headers["X-Calabi-Position"] = str(max(context.positions))


async def _respond(
    request: web.Request, handler: Handler, context: RequestContext
) -> web.StreamResponse:
    try:
        sign_in_first = await _admit(request, context)
        if sign_in_first is not None:
            return sign_in_first
        await _read_body(request)
        return await handler(request)
    except TrackerError as error:
        return error_response(error)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        message = f"No route for {request.method} {request.path}"
        return error_response(EndpointNotFound(message))
    except web.HTTPException:
        raise
    except ConnectionResetError:
        # The client went away mid-request; there is no one to answer.
        raise
    except (asyncpg.TooManyConnectionsError, asyncpg.CannotConnectNowError, OSError):
        log.warning("database_unavailable", exc_info=True)
        return error_response(Unavailable("The database is unavailable; retry."))
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return internal_error_response()


async def _admit(request: web.Request, context: RequestContext) -> web.Response | None:
    """Sign the caller in and check their role for the route asked for.

    Returns:
        None to go on; a redirect to the sign-in page for a browser that
        opens the web UI without a session, when browser sign-in is set up.
    """
    prefix = request.app[SETTINGS].prefix
    route = route_key(_route_of(request), prefix)
    needed = required_role(request.method, route)
    if needed is None:
        return None

    access = request.app[ACCESS]
    try:
        identity = await access.identify(request)
    except Unauthenticated:
        if route != UI_PAGE or access.login is None:
            raise
        login = f"{prefix}/auth/login?{urlencode({'next': request.path_qs})}"
        return web.Response(status=302, headers={"Location": login})
    context.tenant = identity.tenant
    context.actor = identity.user

    check_role(identity.user, identity.role, needed)

    return None


async def _read_body(request: web.Request) -> None:
    """Read a JSON request's body whole, within the size and time limits.

    Handlers read it again from aiohttp's cache.  Only artifact uploads
    (PUT) stream their body, to the bucket, and are left alone.
    """
    if request.method == "PUT" or not request.body_exists:
        return

    timeout = request.app[SETTINGS].body_read_timeout
    try:
        async with asyncio.timeout(timeout):
            await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        msg = f"The request body is larger than the limit of {limit} bytes."
        raise PayloadTooLarge(msg) from None
    except TimeoutError:
        msg = f"The request body did not arrive within {timeout:g} seconds."
        raise InvalidParameter(msg) from None


def _request_id(request: web.Request) -> str:
    """The caller's request id if it is a plausible one, else a new one."""
    given = request.headers.get("X-Request-Id", "")
    if 0 < len(given) <= MAX_REQUEST_ID_LENGTH and given.isprintable():
        return given

    return uuid.uuid4().hex


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path
