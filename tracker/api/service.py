"""Service routes: health, version and the capabilities the client probes."""

from aiohttp import web

from tracker.api.fields import respond
from tracker.errors import EndpointNotFound
from tracker.http.keys import SETTINGS

# The MLflow release whose protocol this server speaks; /version reports it
# because tooling compares it with the client's own version.
MLFLOW_PROTOCOL_VERSION = "3.18.0"


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def version(request: web.Request) -> web.Response:
    return web.Response(text=MLFLOW_PROTOCOL_VERSION)


async def server_info(request: web.Request) -> web.Response:
    # The 3.x client asks before its first artifact transfer.  With S3
    # behind the artifact service, large files go straight to the bucket
    # through presigned multipart URLs.
    serving = request.app[SETTINGS].s3 is not None
    return respond(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": serving,
            "multipart_downloads_enabled": False,
            "artifact_serving_enabled": serving,
            "artifacts_presigned_only": False,
            "tracking_auth": "",
        }
    )


async def not_found(request: web.Request) -> web.Response:
    raise EndpointNotFound(f"No route for {request.method} {request.path}")
