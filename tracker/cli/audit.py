"""``calabi audit``: verify, read and replay a tenant's event log."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
import click
import msgspec

from tracker.admin.rebuild import rebuild as rebuild_tenant
from tracker.audit.history import HistoryFilter, position_at, stream_history
from tracker.audit.state import state_at
from tracker.audit.verify import verify_chain
from tracker.cli.admin_context import show_progress, tenant_pool
from tracker.cli.options import backends, resolve_backends
from tracker.config import DEFAULT_TENANT
from tracker.tenancy.projectors import tenant_projectors

tenant_option = click.option("--tenant", default=DEFAULT_TENANT, show_default=True)


def _url(options: dict[str, Any]) -> str:
    url, _ = resolve_backends(**{**options, "no_artifacts": True})
    return url


@click.group()
def audit() -> None:
    """Verify, read and replay a tenant's event log."""


@audit.command()
@tenant_option
@backends
def verify(tenant: str, **options: Any) -> None:
    """Check the hash chain and that positions have no holes."""

    async def run() -> bool:
        async with (
            tenant_pool(_url(options), tenant) as pool,
            pool.acquire() as connection,
        ):
            report = await verify_chain(connection)
        click.echo(f"events: {report.events}, head: {report.head_position}")
        click.echo(f"head hash: {report.head_hash}")
        for broken in report.breaks:
            click.echo(f"BROKEN at position {broken.position}: {broken.problem}")
        click.echo("chain intact" if report.intact else "chain BROKEN")
        return report.intact

    if not asyncio.run(run()):
        raise SystemExit(1)


@audit.command("log")
@tenant_option
@click.option("--from-position", type=int)
@click.option("--to-position", type=int)
@click.option("--since", type=click.DateTime(), help="Recorded at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Recorded at or before (UTC).")
@click.option("--experiment", "experiment_id", type=int)
@click.option("--run", "run_id")
@click.option("--type", "event_types", multiple=True, help="Event type; repeatable.")
@click.option("--actor")
@click.option(
    "--format", "output", type=click.Choice(["table", "jsonl"]), default="table"
)
@backends
def log(
    tenant: str,
    from_position: int | None,
    to_position: int | None,
    since: datetime | None,
    until: datetime | None,
    experiment_id: int | None,
    run_id: str | None,
    event_types: tuple[str, ...],
    actor: str | None,
    output: str,
    **options: Any,
) -> None:
    """Stream the tenant's history, filtered, as a table or JSON lines."""
    selected = HistoryFilter(
        from_position=from_position,
        to_position=to_position,
        since=_utc(since),
        until=_utc(until),
        experiment_id=experiment_id,
        run_id=run_id,
        event_types=event_types,
        actor=actor,
    )

    async def run() -> None:
        async with (
            tenant_pool(_url(options), tenant) as pool,
            pool.acquire() as connection,
            connection.transaction(),
        ):
            async for event in stream_history(connection, selected):
                if output == "jsonl":
                    click.echo(msgspec.json.encode(event).decode())
                else:
                    stamp = event.recorded_at.isoformat(timespec="milliseconds")
                    click.echo(
                        f"{event.position:>8}  {stamp}  {event.actor:<16}"
                        f"  {event.event_type:<22}  {event.stream_id}"
                    )

    asyncio.run(run())


@audit.command()
@tenant_option
@click.option("--run", "run_id")
@click.option("--experiment", "experiment_id", type=int)
@click.option("--at-position", type=int)
@click.option("--at-time", type=click.DateTime(), help="UTC.")
@backends
def state(
    tenant: str,
    run_id: str | None,
    experiment_id: int | None,
    at_position: int | None,
    at_time: datetime | None,
    **options: Any,
) -> None:
    """Replay the state of a run or an experiment as of a position or a time."""
    if (run_id is None) == (experiment_id is None):
        raise click.UsageError("give exactly one of --run and --experiment")

    async def run() -> dict[str, Any]:
        async with tenant_pool(_url(options), tenant) as pool:
            position = await resolve_point(pool, at_position, _utc(at_time), "at")
            return await state_at(
                pool,
                tenant_projectors(pool),
                position,
                run_id=run_id,
                experiment_id=experiment_id,
            )

    click.echo(json.dumps(asyncio.run(run()), indent=2, default=str))


@audit.command()
@tenant_option
@click.option("--switch", is_flag=True, help="Switch the rebuilt read models in.")
@backends
def rebuild(tenant: str, switch: bool, **options: Any) -> None:
    """Rebuild the read models from the log beside the live ones and compare."""

    async def run() -> None:
        async with tenant_pool(_url(options), tenant) as pool:
            report = await rebuild_tenant(
                pool, tenant_projectors(pool), switch=switch, progress=show_progress
            )
        click.echo("", err=True)
        for built in report.built:
            click.echo(
                f"{built.schema}: {built.events:,} events in {built.seconds:.2f} s"
                f" ({built.events_per_second:,.0f} events/s)"
            )
        for drift in report.drift:
            click.echo(
                f"DRIFT {drift.table}: live {drift.live.rows} rows, rebuilt"
                f" {drift.built.rows}; {drift.only_live} only live,"
                f" {drift.only_built} only rebuilt"
            )
        click.echo(
            "no drift" if not report.drift else f"{len(report.drift)} tables drift"
        )
        click.echo("switched in" if report.switched else "live read models unchanged")

    asyncio.run(run())


async def resolve_point(
    pool: asyncpg.Pool, position: int | None, moment: datetime | None, what: str
) -> int:
    """A point in the log, given as a position or as a time."""
    if position is not None and moment is None:
        return position
    if moment is not None and position is None:
        async with pool.acquire() as connection:
            return await position_at(connection, moment.astimezone(UTC))
    raise click.UsageError(f"give exactly one of --{what}-position and --{what}-time")


def _utc(moment: datetime | None) -> datetime | None:
    """Command-line times are UTC unless they say otherwise."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
