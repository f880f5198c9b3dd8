"""The route table: every path the server answers, in one place.

Each MLflow API route is served under ``/api/`` for the Python client and
under ``/ajax-api/`` for the web UI, with the same handler.
"""

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web

from tracker.api import artifacts, experiments, logged_models, metrics, runs, service

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Route(NamedTuple):
    method: str
    path: str
    handler: Handler


TRACKING_V2 = (
    Route("POST", "experiments/create", experiments.create_experiment),
    Route("GET", "experiments/get", experiments.get_experiment),
    Route("GET", "experiments/get-by-name", experiments.get_experiment_by_name),
    Route("POST", "experiments/search", experiments.search_experiments),
    Route("GET", "experiments/search", experiments.search_experiments),
    Route("POST", "experiments/update", experiments.update_experiment),
    Route("POST", "experiments/delete", experiments.delete_experiment),
    Route("POST", "experiments/restore", experiments.restore_experiment),
    Route("POST", "experiments/set-experiment-tag", experiments.set_experiment_tag),
    Route(
        "POST", "experiments/delete-experiment-tag", experiments.delete_experiment_tag
    ),
    Route("POST", "runs/create", runs.create_run),
    Route("GET", "runs/get", runs.get_run),
    Route("POST", "runs/update", runs.update_run),
    Route("POST", "runs/delete", runs.delete_run),
    Route("POST", "runs/restore", runs.restore_run),
    Route("POST", "runs/search", runs.search_runs),
    Route("POST", "runs/log-metric", runs.log_metric),
    Route("POST", "runs/log-parameter", runs.log_param),
    Route("POST", "runs/log-batch", runs.log_batch),
    Route("POST", "runs/set-tag", runs.set_tag),
    Route("POST", "runs/delete-tag", runs.delete_tag),
    Route("POST", "runs/log-inputs", runs.log_inputs),
    Route("GET", "metrics/get-history", metrics.get_metric_history),
    Route(
        "GET",
        "metrics/get-history-bulk-interval",
        metrics.get_metric_history_bulk_interval,
    ),
    Route("POST", "runs/outputs", logged_models.log_outputs),
    Route("POST", "runs/log-model", logged_models.log_model),
    Route("POST", "logged-models", logged_models.create_logged_model),
    Route("POST", "logged-models/search", logged_models.search_logged_models),
    Route("GET", "logged-models/{model_id}", logged_models.get_logged_model),
    Route("PATCH", "logged-models/{model_id}", logged_models.finalize_logged_model),
    Route("DELETE", "logged-models/{model_id}", logged_models.delete_logged_model),
    Route(
        "PATCH", "logged-models/{model_id}/tags", logged_models.set_logged_model_tags
    ),
    Route(
        "DELETE",
        "logged-models/{model_id}/tags/{tag_key}",
        logged_models.delete_logged_model_tag,
    ),
    Route(
        "POST", "logged-models/{model_id}/params", logged_models.log_logged_model_params
    ),
    Route("GET", "artifacts/list", artifacts.list_run_artifacts),
    Route("POST", "artifacts/presigned-upload-url", artifacts.presigned_upload_url),
    Route("POST", "artifacts/presigned-download-url", artifacts.presigned_download_url),
    Route("POST", "artifacts/confirm-upload", artifacts.confirm_upload),
)

# The artifact service, at /api/2.0/mlflow-artifacts/.
ARTIFACTS_V2 = (
    Route("GET", "artifacts", artifacts.list_artifacts),
    Route("PUT", "artifacts/{path:.+}", artifacts.upload_artifact),
    Route("GET", "artifacts/{path:.+}", artifacts.download_artifact),
    Route("DELETE", "artifacts/{path:.+}", artifacts.delete_artifact),
    Route("POST", "mpu/create/{path:.+}", artifacts.create_multipart_upload),
    Route("POST", "mpu/complete/{path:.+}", artifacts.complete_multipart_upload),
    Route("POST", "mpu/abort/{path:.+}", artifacts.abort_multipart_upload),
    Route("GET", "presigned/{path:.+}", artifacts.presigned_download),
)

TRACKING_V3 = (Route("GET", "server-info", service.server_info),)


def add_routes(app: web.Application, prefix: str) -> None:
    """Register every route under the URL ``prefix`` (empty or "/name")."""
    for api in ("api", "ajax-api"):
        for version, table in (("2.0", TRACKING_V2), ("3.0", TRACKING_V3)):
            base = f"{prefix}/{api}/{version}/mlflow/"
            for route in table:
                app.router.add_route(route.method, base + route.path, route.handler)
        for route in ARTIFACTS_V2:
            app.router.add_route(
                route.method,
                f"{prefix}/{api}/2.0/mlflow-artifacts/{route.path}",
                route.handler,
            )

    app.router.add_get(f"{prefix}/health", service.health)
    app.router.add_get(f"{prefix}/version", service.version)
