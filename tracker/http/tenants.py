"""Routing a request to its tenant: the only way handlers reach a database."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from tracker.context import current_request
from tracker.db import Connection
from tracker.errors import NotImplementedByServer
from tracker.eventlog.append import WriteTransaction
from tracker.http.keys import SETTINGS, TENANTS
from tracker.storage.s3 import ObjectStore
from tracker.tenancy.read_scopes import WHOLE_LOG, OwnWrites, ReadScope
from tracker.tenancy.tenant import Tenant


async def tenant_for(request: web.Request) -> Tenant:
    """The caller's tenant.  Until sign-in exists, the default tenant."""
    context = current_request.get()
    name = context.tenant if context else request.app[SETTINGS].default_tenant

    return await request.app[TENANTS].tenant(name)


async def object_store(request: web.Request) -> ObjectStore:
    """The caller's tenant's artifact bucket."""
    tenant = await tenant_for(request)
    if tenant.artifacts is None:
        raise NotImplementedByServer(
            "This server is configured without artifact storage"
        )

    return tenant.artifacts


@asynccontextmanager
async def reading(
    request: web.Request, scope: ReadScope = WHOLE_LOG
) -> AsyncIterator[Connection]:
    """A connection that sees every write acknowledged before the request.

    Args:
        scope: What the read depends on, when less than the whole log.  A
            request that has written answers with what it wrote, so its
            read waits for its own last write whatever the scope.
    """
    tenant = await tenant_for(request)
    timeout = request.app[SETTINGS].read_barrier_timeout
    context = current_request.get()
    if context is not None and context.positions:
        scope = OwnWrites(max(context.positions))

    async with tenant.reading(timeout, scope) as connection:
        yield connection


@asynccontextmanager
async def writing(request: web.Request) -> AsyncIterator[WriteTransaction]:
    """A transaction for one command; its events commit with it."""
    tenant = await tenant_for(request)

    async with tenant.writer.transaction() as tx:
        yield tx
