"""The aiohttp application: routes, middleware and the resources they use."""

from collections.abc import AsyncIterator

from aiohttp import web

from tracker.auth.oidc_login import add_login_routes
from tracker.auth.sign_in import Access
from tracker.auth.token_routes import add_token_routes
from tracker.config import Settings
from tracker.http.keys import ACCESS, SETTINGS, TENANTS
from tracker.http.middleware import add_request_headers, handle_request
from tracker.http.routes import add_routes
from tracker.storage.s3 import open_s3
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.tenant import TenantRouter

# aiohttp's own default.
LINGERING_SECONDS = 10.0


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[handle_request],
        client_max_size=settings.max_body_bytes,
        handler_args={
            "keepalive_timeout": settings.keepalive_timeout,
            # After an answer sent before its body was read (a refusal, a
            # timeout), the rest is drained this long so the client reads the
            # answer; never longer than a body may take to arrive at all.
            "lingering_time": min(LINGERING_SECONDS, settings.body_read_timeout),
        },
    )
    app.on_response_prepare.append(add_request_headers)
    app[SETTINGS] = settings
    app[TENANTS] = TenantRouter(settings, Catalog(settings.database_url))
    add_routes(app, settings.prefix.rstrip("/"))
    if settings.s3 is not None:
        app.cleanup_ctx.append(_s3_client)
    app.cleanup_ctx.append(_tenants)
    access = app[ACCESS] = Access(settings)
    app.cleanup_ctx.append(access.lifespan)
    add_token_routes(app, settings.prefix.rstrip("/"))
    if settings.auth is not None and settings.auth.session is not None:
        add_login_routes(app, settings.prefix.rstrip("/"), lambda: access.login)

    return app


async def _s3_client(app: web.Application) -> AsyncIterator[None]:
    s3 = app[SETTINGS].s3
    assert s3 is not None, "registered only when S3 is configured"

    async with open_s3(s3) as client:
        app[TENANTS].s3_client = client
        yield


async def _tenants(app: web.Application) -> AsyncIterator[None]:
    router = app[TENANTS]

    # Open the default tenant now so its projector is running before the
    # first request, and a missing tenant fails the start, not a request.
    await router.tenant(app[SETTINGS].default_tenant)

    yield

    await router.close()
