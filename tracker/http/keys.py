"""Typed keys for what the application holds."""

from aiohttp import web

from tracker.auth.sign_in import Access
from tracker.config import Settings
from tracker.tenancy.tenant import TenantRouter

SETTINGS = web.AppKey("settings", Settings)
TENANTS = web.AppKey("tenants", TenantRouter)
ACCESS = web.AppKey("access", Access)
