"""The projector folds the log exactly once, resumes after crashes, never skips."""

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import pytest

from projections.checksums import read_model_checksums
from projections.projector import LogHole
from projections.tracking.fold import fold
from tests.support.tenants import fresh_tenant
from tracker.commands.experiments import create_experiment
from tracker.commands.runs import create_run, log_batch
from tracker.db import Connection
from tracker.eventlog.append import EventWriter
from tracker.eventlog.events import Event, Metric, Param, Tag
from tracker.tenancy.projectors import tracking_projector


class Crash(Exception):
    """Stands in for the projector process dying mid-batch."""


async def _write_workload(pool: asyncpg.Pool, runs: int = 5, batches: int = 4) -> None:
    writer = EventWriter(pool)
    async with writer.transaction() as tx:
        experiment_id = await create_experiment(tx, "projected", tags=[Tag("k", "v")])
    for index in range(runs):
        async with writer.transaction() as tx:
            run = await create_run(
                tx, experiment_id, user_id="u", run_name=None, start_time=index, tags=[]
            )
        for batch in range(batches):
            async with writer.transaction() as tx:
                await log_batch(
                    tx,
                    run.run_id,
                    metrics=[
                        Metric("loss", 1.0 / (step + 1), step, step)
                        for step in range(batch * 50, (batch + 1) * 50)
                    ],
                    params=[Param(f"p{batch}", str(batch))],
                    tags=[Tag("batch", str(batch))],
                )


async def _rebuilt_checksums(pool: asyncpg.Pool) -> dict[str, object]:
    projector = tracking_projector(pool)
    await projector.rebuild()
    await projector.catch_up()
    async with pool.acquire() as connection:
        return dict(await read_model_checksums(connection))


async def test_crash_mid_batch_rolls_back_and_a_restart_resumes(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "crash") as pool:
        await _write_workload(pool)

        async def crashing_fold(
            connection: Connection, events: Sequence[Event]
        ) -> None:
            await fold(connection, events[: len(events) // 2])
            raise Crash

        crashing = tracking_projector(pool)
        crashing._fold = crashing_fold
        await crashing.prepare()
        with pytest.raises(Crash):
            await crashing.catch_up()

        assert await pool.fetchval("SELECT count(*) FROM rm.runs") == 0
        assert (
            await pool.fetchval(
                "SELECT position FROM es.checkpoints WHERE projector = 'tracking'"
            )
            == 0
        )

        restarted = tracking_projector(pool)
        await restarted.prepare()
        await restarted.catch_up()
        async with pool.acquire() as connection:
            resumed = dict(await read_model_checksums(connection))

        assert resumed == await _rebuilt_checksums(pool)


async def test_small_batches_fold_to_the_same_read_models_as_one_big_batch(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "batches") as pool:
        await _write_workload(pool)

        one_by_one = tracking_projector(pool)
        one_by_one._batch_size = 1
        await one_by_one.rebuild()
        await one_by_one.catch_up()
        async with pool.acquire() as connection:
            event_at_a_time = dict(await read_model_checksums(connection))

        assert event_at_a_time == await _rebuilt_checksums(pool)


async def test_a_hole_in_the_log_stops_the_projector(cluster_url: str) -> None:
    async with fresh_tenant(cluster_url, "hole") as pool:
        await _write_workload(pool, runs=1, batches=1)
        head = await pool.fetchval("SELECT last_position FROM es.head")
        async with pool.acquire() as connection:
            # Bypass es.append as only a superuser can, leaving position head+1 empty.
            await connection.execute(
                "INSERT INTO es.events SELECT $1, stream_id, stream_version + 1000,"
                " event_type, schema_version, data, meta, recorded_at, hash"
                " FROM es.events WHERE position = $2",
                head + 2,
                head,
            )

        projector = tracking_projector(pool)
        await projector.prepare()
        with pytest.raises(LogHole, match=f"no event at position {head + 1}"):
            await projector.catch_up()

        assert projector.position == head


async def test_killed_projector_process_resumes_without_loss_or_doubling(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "killed") as pool:
        await _write_workload(pool, runs=20, batches=20)
        tenant = (await pool.fetchval("SELECT current_database()")).removeprefix(
            "calabi_mlflow_"
        )
        command = [
            str(Path(sys.executable).parent / "calabi"),
            "project",
            "--database-url",
            cluster_url,
            "--tenant",
            tenant.replace("_", "-"),
            "--batch-size",
            "5",
        ]
        env = dict(os.environ, CALABI_LOG_LEVEL="warning")

        process = await asyncio.create_subprocess_exec(*command, env=env)
        await _wait_until_checkpoint_moves(pool)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        killed_at = await pool.fetchval("SELECT position FROM es.checkpoints")
        assert killed_at < await pool.fetchval("SELECT last_position FROM es.head")

        finished = await asyncio.create_subprocess_exec(*command, "--once", env=env)
        assert await finished.wait() == 0
        async with pool.acquire() as connection:
            resumed = dict(await read_model_checksums(connection))

        assert resumed == await _rebuilt_checksums(pool)


async def _wait_until_checkpoint_moves(pool: asyncpg.Pool) -> None:
    # Another process moves it; the database is the only place to look.
    for _ in range(6000):
        if await pool.fetchval(
            "SELECT coalesce(max(position), 0) > 0 FROM es.checkpoints"
        ):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("the projector process never committed a batch")
