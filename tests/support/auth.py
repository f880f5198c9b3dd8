"""Tenants, tokens and raw HTTP calls for the sign-in and isolation tests."""

import asyncio
import base64
from datetime import datetime
from typing import Any

import requests

from tests.support.tenants import new_tenant_name
from tracker.auth.roles import Role
from tracker.auth.tokens import IssuedToken, create_token
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import CATALOG_DATABASE


def provisioned_tenant(cluster_url: str, purpose: str) -> str:
    """A new tenant's name, once its database and Default experiment exist."""
    name = new_tenant_name(purpose)
    asyncio.run(Catalog(cluster_url).create_tenant(name))
    return name


def issue_token(
    cluster_url: str,
    tenant: str,
    user: str,
    role: Role,
    *,
    expires_at: datetime | None = None,
) -> IssuedToken:
    """A script token, made as ``calabi token create`` makes one."""

    async def issue() -> IssuedToken:
        catalog = Catalog(cluster_url)
        await catalog.prepare()
        connection = await catalog.connect(CATALOG_DATABASE)
        try:
            return await create_token(
                connection,
                tenant=tenant,
                user=user,
                role=role,
                created_by="test",
                expires_at=expires_at,
            )
        finally:
            await connection.close()

    return asyncio.run(issue())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def call(
    base: str,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: str | bytes | None = None,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    """One request to ``base`` + ``path``, answered in bounded time."""
    return requests.request(
        method,
        f"{base}{path}",
        headers=headers,
        json=json,
        data=data,
        params=params,
        timeout=30,
        allow_redirects=False,
    )
