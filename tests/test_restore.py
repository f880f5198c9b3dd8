"""Restore to a point in time: every read as it was, the whole log kept."""

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.support.restoring import Tenant, tenant_server
from tests.support.snapshots import api_snapshot
from tracker.admin.exclusive import maintenance
from tracker.admin.restore import preview_restore, restore
from tracker.config import S3Settings
from tracker.errors import InvalidState
from tracker.tenancy.projectors import tenant_projectors


@pytest.fixture
def tenant(cluster_url: str, s3_settings: S3Settings) -> Iterator[Tenant]:
    with tenant_server(cluster_url, s3_settings) as tenant:
        yield tenant


def _first_chapter(client: MlflowClient) -> tuple[str, str]:
    experiment_id = client.create_experiment("before", tags={"phase": "one"})
    run_id = client.create_run(experiment_id, run_name="kept").info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0 / (step + 1), step, step) for step in range(20)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("team", "a")],
    )
    with tempfile.TemporaryDirectory() as folder:
        note = Path(folder) / "note.txt"
        note.write_text("first version")
        client.log_artifact(run_id, str(note))
    return experiment_id, run_id


def _second_chapter(client: MlflowClient, experiment_id: str, run_id: str) -> None:
    client.rename_experiment(experiment_id, "after")
    client.log_metric(run_id, "loss", 0.0, step=99)
    client.set_tag(run_id, "team", "b")
    client.delete_tag(run_id, "team")
    other = client.create_run(experiment_id, run_name="added").info.run_id
    client.log_param(other, "lr", "0.5")
    with tempfile.TemporaryDirectory() as folder:
        note = Path(folder) / "note.txt"
        note.write_text("second, longer version")
        client.log_artifact(run_id, str(note))
    client.create_experiment("created-later")
    client.delete_run(run_id)


def test_restore_makes_every_read_what_it_was_at_the_target(tenant: Tenant) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target, before = tenant.head(), api_snapshot(tenant.uri)
    _second_chapter(tenant.client, experiment_id, run_id)
    assert api_snapshot(tenant.uri) != before

    tenant.restore_to(target)

    assert api_snapshot(tenant.uri) == before


def test_restore_serves_an_overwritten_artifact_as_it_was(tenant: Tenant) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target = tenant.head()
    _second_chapter(tenant.client, experiment_id, run_id)

    tenant.restore_to(target)

    with tempfile.TemporaryDirectory() as folder:
        path = tenant.client.download_artifacts(run_id, "note.txt", folder)
        assert Path(path).read_text() == "first version"


def test_restore_keeps_every_event_and_appends_one(tenant: Tenant) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target = tenant.head()
    _second_chapter(tenant.client, experiment_id, run_id)
    events_before = tenant.count_events()

    marker = tenant.restore_to(target)

    assert tenant.count_events() == events_before + 1
    assert marker == events_before + 1


def test_writes_after_a_restore_apply_on_top_of_the_restored_state(
    tenant: Tenant,
) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target = tenant.head()
    _second_chapter(tenant.client, experiment_id, run_id)
    tenant.restore_to(target)

    tenant.client.log_param(run_id, "new", "1")
    tenant.client.create_experiment("after")

    assert tenant.client.get_run(run_id).data.params == {"lr": "0.1", "new": "1"}
    assert tenant.client.get_experiment(experiment_id).name == "before"


def test_a_restore_is_undone_by_restoring_to_just_before_it(tenant: Tenant) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target = tenant.head()
    _second_chapter(tenant.client, experiment_id, run_id)
    latest = api_snapshot(tenant.uri)
    marker = tenant.restore_to(target)

    tenant.restore_to(marker - 1)

    assert api_snapshot(tenant.uri) == latest


def test_a_restore_into_a_superseded_range_brings_it_back_as_it_was(
    tenant: Tenant,
) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    early = tenant.head()
    tenant.client.rename_experiment(experiment_id, "middle")
    tenant.client.log_metric(run_id, "mid", 1.0)
    middle, at_middle = tenant.head(), api_snapshot(tenant.uri)
    tenant.client.delete_run(run_id)
    tenant.restore_to(early)

    tenant.restore_to(middle)

    assert api_snapshot(tenant.uri) == at_middle


def test_ids_handed_out_after_the_target_are_never_handed_out_again(
    tenant: Tenant,
) -> None:
    target = tenant.head()
    superseded = tenant.client.create_experiment("superseded")
    tenant.restore_to(target)

    fresh = tenant.client.create_experiment("superseded")

    assert int(fresh) > int(superseded)
    with pytest.raises(MlflowException, match="No Experiment"):
        tenant.client.get_experiment(superseded)


def test_a_dry_run_reports_changes_and_changes_nothing(tenant: Tenant) -> None:
    experiment_id, run_id = _first_chapter(tenant.client)
    target = tenant.head()
    _second_chapter(tenant.client, experiment_id, run_id)
    now, events = api_snapshot(tenant.uri), tenant.count_events()

    async def preview() -> list[str]:
        pool = await tenant._pool()
        try:
            report = await preview_restore(pool, tenant_projectors(pool), target)
        finally:
            await pool.close()
        return [drift.table for drift in report.drift]

    changed = asyncio.run(preview())

    assert {"runs", "experiments", "params", "artifacts"} <= set(changed)
    assert api_snapshot(tenant.uri) == now
    assert tenant.count_events() == events


def test_a_restore_refuses_while_another_maintenance_runs(tenant: Tenant) -> None:
    target = tenant.head()
    tenant.client.create_experiment("x")

    async def race() -> None:
        pool = await tenant._pool()
        try:
            async with maintenance(pool):
                await restore(pool, tenant_projectors(pool), target, reason="second")
        finally:
            await pool.close()

    with pytest.raises(InvalidState, match="another restore or rebuild"):
        asyncio.run(race())
