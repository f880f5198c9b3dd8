"""Service routes: health, version and the capabilities the client probes."""

from aiohttp import web

from tracker.api.fields import respond
from tracker.errors import EndpointNotFound

# The MLflow release whose protocol this server speaks; /version reports it
# because tooling compares it with the client's own version.
MLFLOW_PROTOCOL_VERSION = "3.18.0"


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def version(request: web.Request) -> web.Response:
    return web.Response(text=MLFLOW_PROTOCOL_VERSION)


async def server_info(request: web.Request) -> web.Response:
    # The 3.x client asks before its first artifact transfer; everything off
    # means plain proxied uploads and downloads.
    return respond(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "artifact_serving_enabled": True,
            "artifacts_presigned_only": False,
            "tracking_auth": "",
        }
    )


async def not_found(request: web.Request) -> web.Response:
    raise EndpointNotFound(f"No route for {request.method} {request.path}")
