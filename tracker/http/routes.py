"""The route table: every path the server answers, in one place.

Each MLflow API route is served under ``/api/`` for the Python client and
under ``/ajax-api/`` for the web UI, with the same handler.
"""

from collections.abc import Awaitable, Callable
from typing import NamedTuple

from aiohttp import web

from tracker.api import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    registry,
    runs,
    service,
)
from tracker.ui import artifacts as ui_artifacts
from tracker.ui import datasets, probes
from tracker.ui.build import build_directory
from tracker.ui.graphql_endpoint import graphql
from tracker.ui.static import UiBuild, to_trailing_slash

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

# The model registry, at /api/2.0/mlflow/ beside tracking.
REGISTRY_V2 = (
    Route("POST", "registered-models/create", registry.create_registered_model),
    Route("GET", "registered-models/get", registry.get_registered_model),
    Route("POST", "registered-models/rename", registry.rename_registered_model),
    Route("PATCH", "registered-models/update", registry.update_registered_model),
    Route("DELETE", "registered-models/delete", registry.delete_registered_model),
    Route("GET", "registered-models/search", registry.search_registered_models),
    Route(
        "POST", "registered-models/get-latest-versions", registry.get_latest_versions
    ),
    Route(
        "GET", "registered-models/get-latest-versions", registry.get_latest_versions
    ),
    Route("POST", "registered-models/set-tag", registry.set_registered_model_tag),
    Route(
        "DELETE", "registered-models/delete-tag", registry.delete_registered_model_tag
    ),
    Route("POST", "registered-models/alias", registry.set_registered_model_alias),
    Route("DELETE", "registered-models/alias", registry.delete_registered_model_alias),
    Route("GET", "registered-models/alias", registry.get_model_version_by_alias),
    Route("POST", "model-versions/create", registry.create_model_version),
    Route("GET", "model-versions/get", registry.get_model_version),
    Route("PATCH", "model-versions/update", registry.update_model_version),
    Route("DELETE", "model-versions/delete", registry.delete_model_version),
    Route("GET", "model-versions/search", registry.search_model_versions),
    Route(
        "GET",
        "model-versions/get-download-uri",
        registry.get_model_version_download_uri,
    ),
    Route(
        "POST",
        "model-versions/transition-stage",
        registry.transition_model_version_stage,
    ),
    Route("POST", "model-versions/set-tag", registry.set_model_version_tag),
    Route("DELETE", "model-versions/delete-tag", registry.delete_model_version_tag),
)

TRACKING_V3 = (Route("GET", "server-info", service.server_info),)

# What the web UI calls beyond the REST API, under /ajax-api/ only.
UI_AJAX = (
    Route("POST", "2.0/mlflow/experiments/search-datasets", datasets.search_datasets),
    Route("POST", "2.0/mlflow/upload-artifact", ui_artifacts.upload_run_artifact),
    Route("GET", "3.0/mlflow/ui-telemetry", probes.ui_telemetry_config),
    Route("POST", "3.0/mlflow/ui-telemetry", probes.ui_telemetry_records),
    Route("GET", "2.0/mlflow/gateway-proxy", probes.gateway_proxy),
    Route("POST", "2.0/mlflow/gateway-proxy", probes.gateway_proxy),
    Route("GET", "2.0/mlflow/traces", probes.nothing_in("traces")),
    Route("POST", "3.0/mlflow/traces/search", probes.nothing_in("traces")),
    Route("POST", "3.0/mlflow/traces/metrics", probes.nothing_in("data_points")),
    Route("POST", "3.0/mlflow/issues/search", probes.nothing_in("issues")),
    Route("GET", "3.0/mlflow/scorers/list", probes.nothing_in("scorers")),
    Route("POST", "3.0/mlflow/datasets/search", probes.nothing_in("datasets")),
)

# The web UI's routes beside its page, directly under the prefix.
UI_ROOT = (
    Route("POST", "graphql", graphql),
    Route("GET", "graphql", graphql),
    Route("GET", "get-artifact", ui_artifacts.get_run_artifact),
    Route(
        "GET", "model-versions/get-artifact", ui_artifacts.get_model_version_artifact
    ),
)


def add_routes(app: web.Application, prefix: str) -> None:
    """Register every route under the URL ``prefix`` (empty or "/name")."""
    for api in ("api", "ajax-api"):
        for version, table in (
            ("2.0", TRACKING_V2),
            ("2.0", REGISTRY_V2),
            ("3.0", TRACKING_V3),
        ):
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

    add_ui_routes(app, prefix)


def add_ui_routes(app: web.Application, prefix: str) -> None:
    """Register the web UI: its page, its files and the calls it makes."""
    for route in UI_AJAX:
        app.router.add_route(
            route.method, f"{prefix}/ajax-api/{route.path}", route.handler
        )
    for route in UI_ROOT:
        app.router.add_route(route.method, f"{prefix}/{route.path}", route.handler)

    build = UiBuild(build_directory())
    app.router.add_get(f"{prefix}/", build.index)
    app.router.add_get(f"{prefix}/static-files/{{path:.+}}", build.asset)
    if prefix:
        app.router.add_get(prefix, to_trailing_slash)
