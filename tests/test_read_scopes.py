"""What a read waits for: the writes its answer depends on, and no others.

The tenants here have no projector running; each test folds the log itself
up to a chosen point, so "waits" shows as a read that cannot start before
its (short) barrier timeout.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from tests.support.tenants import fresh_tenant
from tracker.commands.experiments import create_experiment, delete_experiment
from tracker.commands.runs import create_run, log_batch
from tracker.context import RequestContext, current_request
from tracker.errors import ProjectionStopped
from tracker.eventlog.append import EventWriter
from tracker.eventlog.events import Tag
from tracker.tenancy.projectors import tenant_projectors
from tracker.tenancy.read_scopes import WHOLE_LOG, OneRun, OwnWrites, ReadScope
from tracker.tenancy.tenant import Tenant

TIMEOUT = 0.3


@dataclass
class Log:
    """A tenant whose projectors move only when told to."""

    tenant: Tenant
    writer: EventWriter
    experiment_id: int

    async def new_run(self, experiment_id: int | None = None) -> str:
        async with self.writer.transaction() as tx:
            created = await create_run(
                tx,
                self.experiment_id if experiment_id is None else experiment_id,
                user_id="u",
                run_name=None,
                start_time=0,
                tags=[],
            )
        return created.run_id

    async def tag(self, run_id: str, value: str) -> int:
        async with self.writer.transaction() as tx:
            await log_batch(tx, run_id, tags=[Tag("t", value)])
        assert tx.last_position is not None
        return tx.last_position

    async def project_all(self) -> None:
        for projector in self.tenant.projectors:
            await projector.catch_up()

    async def can_read(self, scope: ReadScope) -> bool:
        try:
            async with self.tenant.reading(TIMEOUT, scope):
                return True
        except ProjectionStopped:
            return False


@pytest.fixture
async def log(cluster_url: str) -> AsyncIterator[Log]:
    async with fresh_tenant(cluster_url, "scopes") as pool:
        for projector in (projectors := tenant_projectors(pool)):
            await projector.prepare()
        tenant = Tenant("scopes", pool, projectors, local=False)
        writer = EventWriter(pool)
        async with writer.transaction() as tx:
            experiment_id = await create_experiment(tx, "scoped")
        yield Log(tenant, writer, experiment_id)


async def test_a_run_read_does_not_wait_for_writes_to_other_runs(log: Log) -> None:
    mine, other = await log.new_run(), await log.new_run()
    await log.tag(mine, "a")
    await log.project_all()

    await log.tag(other, "b")

    assert await log.can_read(OneRun(mine))
    assert not await log.can_read(OneRun(other))


async def test_a_run_read_waits_for_a_write_to_its_run(log: Log) -> None:
    run_id = await log.new_run()
    await log.project_all()

    await log.tag(run_id, "a")

    assert not await log.can_read(OneRun(run_id))


async def test_a_run_read_waits_for_its_experiment_being_deleted(log: Log) -> None:
    run_id = await log.new_run()
    await log.project_all()

    async with log.writer.transaction() as tx:
        await delete_experiment(tx, log.experiment_id)

    assert not await log.can_read(OneRun(run_id))


async def test_a_read_of_an_unknown_run_waits_for_the_whole_log(log: Log) -> None:
    await log.project_all()
    await log.tag(await log.new_run(), "a")

    assert not await log.can_read(OneRun("0" * 32))


async def test_a_search_waits_for_every_write(log: Log) -> None:
    mine, other = await log.new_run(), await log.new_run()
    await log.project_all()

    await log.tag(other, "b")

    assert await log.can_read(OneRun(mine))
    assert not await log.can_read(WHOLE_LOG)


async def test_a_write_reading_back_waits_for_its_own_position_only(
    log: Log,
) -> None:
    run_id = await log.new_run()
    own = await log.tag(run_id, "a")
    await log.project_all()

    later = await log.tag(run_id, "b")

    assert await log.can_read(OwnWrites(own))
    assert not await log.can_read(OwnWrites(later))


async def test_a_read_waits_while_a_projector_has_no_checkpoint(log: Log) -> None:
    run_id = await log.new_run()
    await log.project_all()
    pool: asyncpg.Pool = log.tenant.pool
    async with pool.acquire() as connection:
        await connection.execute("DELETE FROM es.checkpoints")

    assert not await log.can_read(OneRun(run_id))
    assert not await log.can_read(WHOLE_LOG)


async def test_the_time_a_read_waited_is_kept_for_its_log_line(log: Log) -> None:
    mine, other = await log.new_run(), await log.new_run()
    await log.project_all()
    await log.tag(other, "b")
    context = RequestContext(tenant="scopes", actor="a", request_id="r")
    token = current_request.set(context)
    try:
        assert await log.can_read(OneRun(mine))
        assert context.barrier_wait == 0

        assert not await log.can_read(OneRun(other))
    finally:
        current_request.reset(token)

    assert context.barrier_wait >= TIMEOUT
