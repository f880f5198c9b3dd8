"""The scenarios that move much data: a long metric history, and artifacts.

None means the server lacks what the scenario needs (FastTrackML has no
bulk-interval history and no artifact upload).
"""

import hashlib
import os
from pathlib import Path

from mlflow.utils.rest_utils import MlflowHostCreds, http_request

from bench import clients as c
from bench.stats import latency_summary, percentile, rate
from bench.workload import (
    Figures,
    Target,
    growth_of,
    split,
    timed,
)

BULK_INTERVAL_POINTS = 320
HISTORY_KEY = "loss"
HISTORY_BATCH = 1000


# Metric history -----------------------------------------------------------------


def history(target: Target) -> Figures:
    """One metric of many points: logged, fetched whole, sampled as the UI does."""
    client = target.client
    sizes = target.sizes
    experiment_id = client.create_experiment("bench-history")
    run_id = client.create_run(experiment_id).info.run_id
    tasks = [
        c.HistoryTask(
            tracking_uri=target.tracking_uri,
            run_id=run_id,
            key=HISTORY_KEY,
            first_step=first,
            steps=count,
            batch_size=HISTORY_BATCH,
        )
        for first, count in split(0, sizes.history_points, sizes.setup_clients)
    ]

    with target.window("history_log") as usage:
        logs = target.pool.map(c.log_history, tasks, chunksize=1)
    logged = sum(log.done for log in logs)
    target.note_errors("history_log", [e for log in logs for e in log.errors])
    figures: Figures = {"log_points_per_s": rate(logged, usage.seconds)}

    with target.window("history_fetch") as usage:
        fetches, points = timed(
            sizes.history_fetches,
            lambda: client.get_metric_history(run_id, HISTORY_KEY),
        )
    fetch_s = percentile(fetches, 0.5)
    steps = {point.step for point in points}
    figures |= {
        "fetch_p50_s": fetch_s / 1000 if fetch_s is not None else None,
        "fetched_points_per_s": rate(len(points), (fetch_s or 0) / 1000),
        "fetch_rss_growth_mib": growth_of(usage, target.name),
        "fetch_correct": 1.0 if len(steps) == logged == len(points) else 0.0,
    }

    return figures | bulk_interval(target, run_id)


def bulk_interval(target: Target, run_id: str) -> Figures:
    """get-history-bulk-interval with the UI's max_results; None if missing."""
    # The client's own HTTP layer; MlflowClient has no method for this call.
    creds = MlflowHostCreds(host=target.tracking_uri)  # type: ignore[no-untyped-call]
    params = {
        "run_ids": [run_id],
        "metric_key": HISTORY_KEY,
        "max_results": BULK_INTERVAL_POINTS,
    }

    def call() -> tuple[int, int]:
        response = http_request(  # type: ignore[no-untyped-call]
            creds,
            "/api/2.0/mlflow/metrics/get-history-bulk-interval",
            "GET",
            params=params,
            max_retries=0,
        )
        if response.status_code != 200:
            return response.status_code, 0
        return 200, len(response.json().get("metrics", []))

    status, _ = call()
    if status != 200:
        target.note_errors("history_bulk", [f"HTTP {status}: endpoint not served"])
        return {"bulk_p50_ms": None, "bulk_p99_ms": None, "bulk_correct": None}

    with target.window("history_bulk"):
        latencies, (_, returned) = timed(target.sizes.bulk_repeats, call)

    return {
        **latency_summary("bulk", latencies),
        "bulk_correct": 1.0 if 0 < returned <= BULK_INTERVAL_POINTS else 0.0,
    }


# Artifacts ----------------------------------------------------------------------


def make_artifact(path: Path, mib: int) -> str:
    """Write ``mib`` MiB of random bytes to ``path``; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _ in range(mib):
            # Random bytes, so that no layer on the way can compress them.
            data = os.urandom(1024 * 1024)
            digest.update(data)
            out.write(data)

    return digest.hexdigest()


def artifacts(target: Target, file: Path, sha256: str, scratch: Path) -> Figures:
    """Upload ``file`` through the server, download it, and check it."""
    client = target.client
    experiment_id = client.create_experiment("bench-artifacts")
    run_id = client.create_run(experiment_id).info.run_id
    mib = file.stat().st_size / (1024 * 1024)
    destination = scratch / f"download-{target.name}"
    destination.mkdir(parents=True, exist_ok=True)

    with target.window("artifacts_upload") as upload:
        client.log_artifact(run_id, str(file))
    with target.window("artifacts_download") as download:
        local = client.download_artifacts(run_id, file.name, str(destination))

    return {
        "upload_mib_per_s": rate(mib, upload.seconds),
        "download_mib_per_s": rate(mib, download.seconds),
        "upload_rss_growth_mib": growth_of(upload, target.name),
        "download_rss_growth_mib": growth_of(download, target.name),
        "correct": 1.0 if _sha256(Path(local)) == sha256 else 0.0,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
