"""The tenant event log: append-only, gapless, ordered, chained, attributed."""

import asyncio
import json

import asyncpg
import msgspec
import pytest
import requests

from tests.support.tenants import fresh_tenant
from tracker.commands.experiments import create_experiment
from tracker.commands.runs import create_run, log_batch
from tracker.errors import ConcurrencyConflict
from tracker.eventlog.append import EventWriter
from tracker.eventlog.codec import codec
from tracker.eventlog.events import ExperimentTagSet, Metric, MetricsLogged


class Boom(Exception):
    """Raised inside a write to roll it back."""


async def test_log_refuses_update(tenant_db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await tenant_db.execute("UPDATE es.events SET event_type = 'x'")


async def test_log_refuses_delete(tenant_db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await tenant_db.execute("DELETE FROM es.events")


async def test_log_refuses_truncate(tenant_db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await tenant_db.execute("TRUNCATE es.events")


async def test_concurrent_appends_leave_positions_gapless_and_in_order(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "gapless") as pool:
        writer = EventWriter(pool)

        async def write(index: int) -> None:
            try:
                async with writer.transaction() as tx:
                    await create_experiment(tx, f"exp-{index}")
                    if index % 3 == 0:
                        raise Boom
            except Boom:
                pass

        await asyncio.gather(*(write(index) for index in range(60)))

        rows = await pool.fetch(
            "SELECT position, recorded_at, event_type FROM es.events ORDER BY position"
        )
        head = await pool.fetchval("SELECT last_position FROM es.head")

    assert [row["position"] for row in rows] == list(range(1, head + 1))
    stamps = [row["recorded_at"] for row in rows]
    assert stamps == sorted(stamps)
    # The Default experiment plus every write that was not rolled back.
    assert len(rows) == 1 + 40


async def test_hash_chain_covers_every_event(cluster_url: str) -> None:
    async with fresh_tenant(cluster_url, "chain") as pool:
        async with EventWriter(pool).transaction() as tx:
            await create_experiment(tx, "chained")

        broken = await pool.fetchval(
            "SELECT count(*) FROM ("
            " SELECT hash, es.event_hash("
            "  coalesce(lag(hash) OVER (ORDER BY position), '\\x'::bytea),"
            "  position, stream_id, stream_version, event_type, schema_version,"
            "  data, meta, recorded_at) AS expected FROM es.events) AS chain"
            " WHERE hash <> expected"
        )

    assert broken == 0


async def test_stale_expected_version_is_a_concurrency_conflict(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "occ") as pool:
        writer = EventWriter(pool)
        event = ExperimentTagSet(experiment_id=0, key="k", value="v")

        with pytest.raises(ConcurrencyConflict, match="expected 0"):
            async with writer.transaction() as tx:
                await tx.append(
                    "experiment-0", "experiment", [event], expected_version=0
                )


async def test_log_batch_is_one_transaction_of_up_to_three_events(
    cluster_url: str,
) -> None:
    async with fresh_tenant(cluster_url, "batch") as pool:
        writer = EventWriter(pool)
        async with writer.transaction() as tx:
            run = await create_run(
                tx, 0, user_id="u", run_name="r", start_time=1, tags=[]
            )
        async with writer.transaction() as tx:
            await log_batch(
                tx,
                run.run_id,
                metrics=[Metric("m", 1.0, 1)],
                params=[],
                tags=[],
            )

        types = await pool.fetch(
            "SELECT event_type, schema_version, data FROM es.events"
            " WHERE stream_id = $1 ORDER BY stream_version",
            f"run-{run.run_id}",
        )

    decoded = [codec.decode(*row) for row in types]
    assert [type(event).__name__ for event in decoded] == [
        "RunCreated",
        "MetricsLogged",
    ]


def test_events_record_actor_request_client_and_user_agent(
    tracking_uri: str, unique: str, cluster_url: str
) -> None:
    response = requests.post(
        f"{tracking_uri}/api/2.0/mlflow/experiments/create",
        json={"name": f"meta-{unique}"},
        headers={"User-Agent": "spec-agent/1.0", "X-Request-Id": f"req-{unique}"},
        timeout=30,
    )
    assert response.ok

    meta = asyncio.run(_meta_of_request(cluster_url, f"req-{unique}"))

    assert meta["actor"] == "local"
    assert meta["user_agent"] == "spec-agent/1.0"
    assert meta["client"] == "127.0.0.1"
    assert response.headers["X-Calabi-Position"]


async def _meta_of_request(cluster_url: str, request_id: str) -> dict[str, str]:
    connection = await asyncpg.connect(cluster_url, database="calabi_mlflow_default")
    try:
        meta: str = await connection.fetchval(
            "SELECT meta::text FROM es.events WHERE meta->>'request_id' = $1",
            request_id,
        )
    finally:
        await connection.close()

    result: dict[str, str] = json.loads(meta)

    return result


def big_batch() -> MetricsLogged:
    metrics = tuple(Metric(f"m{i % 10}", i / 7, 1_000 + i, i) for i in range(1000))
    return MetricsLogged(run_id="r" * 32, metrics=metrics)


def test_a_large_payload_is_stored_compressed_and_reads_back() -> None:
    event = big_batch()

    event_type, version, data = codec.encode(event)

    assert len(data) < len(msgspec.msgpack.encode(event)) / 2
    assert codec.decode(event_type, version, data) == event


def test_a_payload_stored_before_compression_still_reads_back() -> None:
    event = big_batch()
    plain = msgspec.msgpack.encode(event)

    assert codec.decode("MetricsLogged", event.schema_version, plain) == event


def test_a_small_payload_is_stored_as_plain_msgpack() -> None:
    event = ExperimentTagSet(experiment_id=1, key="k", value="v")

    _, _, data = codec.encode(event)

    assert data == msgspec.msgpack.encode(event)
