"""``calabi restore``: take a tenant back to a point in time."""

import asyncio
from datetime import datetime
from typing import Any

import click

from tracker.admin.restore import preview_restore, resume_restore
from tracker.admin.restore import restore as restore_tenant
from tracker.cli.admin_context import show_progress, tenant_pool
from tracker.cli.audit import _utc, resolve_point
from tracker.cli.options import backends, resolve_backends
from tracker.config import DEFAULT_TENANT, S3Settings
from tracker.storage.s3 import open_s3
from tracker.tenancy.names import tenant_bucket
from tracker.tenancy.projectors import tenant_projectors


@click.command()
@click.option("--tenant", default=DEFAULT_TENANT, show_default=True)
@click.option("--to-position", type=int, help="Restore to just after this position.")
@click.option("--to-time", type=click.DateTime(), help="Restore to this time (UTC).")
@click.option("--reason", default="", help="Why; recorded in the restore event.")
@click.option(
    "--dry-run", is_flag=True, help="Report what would change; change nothing."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--resume", is_flag=True, help="Finish a restore that was cut short.")
@backends
def restore(
    tenant: str,
    to_position: int | None,
    to_time: datetime | None,
    reason: str,
    dry_run: bool,
    yes: bool,
    resume: bool,
    **options: Any,
) -> None:
    """Restore TENANT's tracking data to a point, keeping the whole event log.

    Every API read then shows the tenant as it was at that point; events after
    it stay in the log, and later writes apply on top.  A restore is undone by
    restoring to a point after it.
    """
    url, s3 = resolve_backends(**options)
    asyncio.run(
        _restore(
            url,
            s3,
            tenant,
            to_position,
            _utc(to_time),
            reason=reason,
            dry_run=dry_run,
            yes=yes,
            resume=resume,
        )
    )


async def _restore(
    url: str,
    s3: S3Settings | None,
    tenant: str,
    to_position: int | None,
    to_time: datetime | None,
    *,
    reason: str,
    dry_run: bool,
    yes: bool,
    resume: bool,
) -> None:
    async with tenant_pool(url, tenant) as pool:
        projectors = tenant_projectors(pool)
        if resume:
            done = await resume_restore(pool, projectors, progress=show_progress)
            click.echo(
                "nothing to resume" if done is None else f"resumed {done.marker}"
            )
            return

        target = await resolve_point(pool, to_position, to_time, "to")
        if not reason.strip() and not dry_run:
            raise click.UsageError("a restore needs --reason")
        click.echo(f"tenant {tenant}: restoring to position {target}")

        preview = await preview_restore(pool, projectors, target, show_progress)
        click.echo("", err=True)
        if not preview.drift:
            click.echo("nothing would change")
        for drift in preview.drift:
            click.echo(
                f"  {drift.table}: {drift.live.rows} rows now, {drift.built.rows} after"
                f" ({drift.only_live} would go, {drift.only_built} would come back)"
            )
        if dry_run:
            return

        if not await _bucket_keeps_versions(s3, tenant):
            click.echo(
                "WARNING: the artifact bucket keeps no object versions: listings"
                " return to the target, but files overwritten or deleted since"
                " cannot be served as they were."
            )
        if not yes:
            click.confirm("Restore now?", abort=True)

        done = await restore_tenant(
            pool, projectors, target, reason=reason, progress=show_progress
        )
        click.echo("", err=True)
        click.echo(f"restored to {done.target}; restore event at {done.marker}")


async def _bucket_keeps_versions(s3: S3Settings | None, tenant: str) -> bool:
    if s3 is None:
        return True
    async with open_s3(s3) as client:
        answer = await client.get_bucket_versioning(Bucket=tenant_bucket(tenant))

    status: str | None = answer.get("Status")

    return status == "Enabled"
