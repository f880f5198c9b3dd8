"""The audit tools, driven as an administrator would: through `calabi`."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.support.tenants import new_tenant_name
from tracker.commands.experiments import create_experiment, rename_experiment
from tracker.commands.runs import create_run, log_batch
from tracker.eventlog.append import EventWriter
from tracker.eventlog.events import Metric, Param
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import tenant_database

CALABI = str(Path(sys.executable).parent / "calabi")


def calabi(cluster_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CALABI,
            "--log-level",
            "error",
            *args,
            "--database-url",
            cluster_url,
            "--no-artifacts",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def history(cluster_url: str) -> tuple[str, str, int]:
    """A tenant with a short history: (tenant, run id, position after the run)."""
    tenant = new_tenant_name("audit")

    async def write() -> tuple[str, int]:
        await Catalog(cluster_url).create_tenant(tenant)
        pool = await asyncpg.create_pool(
            cluster_url, database=tenant_database(tenant), min_size=1, max_size=2
        )
        writer = EventWriter(pool)
        try:
            async with writer.transaction() as tx:
                experiment_id = await create_experiment(tx, "audited")
            async with writer.transaction() as tx:
                run = await create_run(
                    tx,
                    experiment_id,
                    user_id="ann",
                    run_name="r",
                    start_time=1,
                    tags=[],
                )
            async with writer.transaction() as tx:
                await log_batch(
                    tx,
                    run.run_id,
                    metrics=[Metric("loss", 0.5, 1, 1)],
                    params=[Param("lr", "0.1")],
                )
            position: int = await pool.fetchval("SELECT last_position FROM es.head")
            async with writer.transaction() as tx:
                await rename_experiment(tx, experiment_id, "renamed")
        finally:
            await pool.close()
        return run.run_id, position

    run_id, position = asyncio.run(write())
    return tenant, run_id, position


def test_verify_reports_an_intact_chain(cluster_url: str, history: tuple) -> None:
    tenant, _, _ = history

    done = calabi(cluster_url, "audit", "verify", "--tenant", tenant)

    assert done.returncode == 0, done.stderr
    assert "chain intact" in done.stdout


def test_log_streams_decoded_events_as_json_lines(
    cluster_url: str, history: tuple
) -> None:
    tenant, run_id, _ = history

    done = calabi(
        cluster_url,
        "audit",
        "log",
        "--tenant",
        tenant,
        "--run",
        run_id,
        "--format",
        "jsonl",
    )

    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [event["event_type"] for event in events] == [
        "RunCreated",
        "MetricsLogged",
        "ParamsLogged",
    ]
    assert events[1]["event"]["metrics"][0]["key"] == "loss"
    assert all(event["actor"] == "system" for event in events)


def test_log_filters_by_event_type_and_position(
    cluster_url: str, history: tuple
) -> None:
    tenant, _, position = history

    done = calabi(
        cluster_url,
        "audit",
        "log",
        "--tenant",
        tenant,
        "--type",
        "ExperimentRenamed",
        "--from-position",
        str(position),
        "--format",
        "jsonl",
    )

    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [event["event"]["name"] for event in events] == ["renamed"]


def test_state_replays_an_experiment_as_of_a_position(
    cluster_url: str, history: tuple
) -> None:
    tenant, _, position = history

    done = calabi(
        cluster_url,
        "audit",
        "state",
        "--tenant",
        tenant,
        "--experiment",
        "1",
        "--at-position",
        str(position),
    )

    state = json.loads(done.stdout)
    assert state["experiment"]["name"] == "audited"
    assert len(state["runs"]) == 1


def test_rebuild_reports_no_drift_and_its_speed(
    cluster_url: str, history: tuple
) -> None:
    tenant, _, _ = history

    done = calabi(cluster_url, "audit", "rebuild", "--tenant", tenant)

    assert done.returncode == 0, done.stderr
    assert "no drift" in done.stdout
    assert "events/s" in done.stdout


def test_restore_dry_run_reports_what_would_change(
    cluster_url: str, history: tuple
) -> None:
    tenant, _, position = history

    done = calabi(
        cluster_url,
        "restore",
        "--tenant",
        tenant,
        "--to-position",
        str(position),
        "--dry-run",
    )

    assert done.returncode == 0, done.stderr
    assert "experiments: 2 rows now, 2 after (1 would go, 1 would come back)" in (
        done.stdout
    )


def test_verify_finds_an_event_a_superuser_edited(cluster_url: str) -> None:
    tenant = new_tenant_name("tamper")

    async def tamper() -> None:
        await Catalog(cluster_url).create_tenant(tenant)
        connection = await asyncpg.connect(
            cluster_url, database=tenant_database(tenant)
        )
        try:
            writer_pool = await asyncpg.create_pool(
                cluster_url, database=tenant_database(tenant), min_size=1, max_size=1
            )
            async with EventWriter(writer_pool).transaction() as tx:
                await create_experiment(tx, "honest")
            await writer_pool.close()
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
                await connection.execute(
                    'UPDATE es.events SET meta = \'{"actor": "mallory"}\''
                    " WHERE position = 1"
                )
        finally:
            await connection.close()

    asyncio.run(tamper())

    done = calabi(cluster_url, "audit", "verify", "--tenant", tenant)

    assert done.returncode == 1
    assert "BROKEN at position 1: hash does not match the event" in done.stdout
