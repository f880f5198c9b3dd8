"""What a tenant looks like through the API, for comparing points in time."""

from typing import Any

import requests

TIMEOUT = 30


def api_snapshot(tracking_uri: str) -> dict[str, Any]:
    """Every read a client could make of the tenant, as plain JSON.

    Times that a read computes afresh are not part of it; everything the log
    determines is.
    """
    api = f"{tracking_uri}/api/2.0/mlflow"
    experiments = _post(
        api, "experiments/search", {"max_results": 1000, "view_type": "ALL"}
    ).get("experiments", [])
    ids = [experiment["experiment_id"] for experiment in experiments]

    runs = (
        _post(
            api,
            "runs/search",
            {"experiment_ids": ids, "run_view_type": "ALL", "max_results": 1000},
        ).get("runs", [])
        if ids
        else []
    )

    snapshot: dict[str, Any] = {"experiments": experiments, "runs": runs}
    for run in runs:
        run_id = run["info"]["run_id"]
        snapshot[f"run:{run_id}"] = _get(api, "runs/get", {"run_id": run_id})
        for metric in run["data"].get("metrics", []):
            snapshot[f"history:{run_id}:{metric['key']}"] = _get(
                api,
                "metrics/get-history",
                {"run_id": run_id, "metric_key": metric["key"]},
            )
        snapshot[f"artifacts:{run_id}"] = _get(
            api, "artifacts/list", {"run_id": run_id}
        )
    for experiment in experiments:
        snapshot[f"models:{experiment['experiment_id']}"] = _post(
            api,
            "logged-models/search",
            {"experiment_ids": [experiment["experiment_id"]]},
        )

    return snapshot


def _get(api: str, path: str, params: dict[str, str]) -> Any:
    answer = requests.get(f"{api}/{path}", params=params, timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    answer = requests.post(f"{api}/{path}", json=body, timeout=TIMEOUT)
    answer.raise_for_status()
    return answer.json()
