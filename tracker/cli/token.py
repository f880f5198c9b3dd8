"""``calabi token``: tokens for scripts and CI.

These commands write the catalog database directly, so whoever can run
them against it (holds its credentials) is an administrator of every
tenant; there is no further role check.  Tenant admins without database
access manage their own tenant's tokens over HTTP instead.
"""

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import click

from tracker.auth.roles import ROLE_NAMES, parse_role
from tracker.auth.tokens import create_token, list_tokens, revoke_token, token_id_of
from tracker.cli.options import backends, resolve_backends
from tracker.errors import InvalidParameter, NotFound
from tracker.tenancy.catalog import Catalog
from tracker.tenancy.names import CATALOG_DATABASE

T = TypeVar("T")


@click.group()
def token() -> None:
    """Create, list and revoke tokens for scripts and CI."""


@token.command("create")
@click.option("--tenant", required=True, help="The tenant the token acts in.")
@click.option("--user", required=True, help="The user recorded as the actor.")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES))
@click.option("--description", default="", help="What the token is for.")
@click.option(
    "--expires-in-days", type=click.IntRange(min=1), help="Default: never expires."
)
@backends
def create(
    tenant: str,
    user: str,
    role: str,
    description: str,
    expires_in_days: int | None,
    **options: Any,
) -> None:
    """Make a token and print it, once: only its hash is kept."""
    expires_at = (
        datetime.now(UTC) + timedelta(days=expires_in_days)
        if expires_in_days is not None
        else None
    )

    async def run(connection: asyncpg.Connection) -> str:
        issued = await create_token(
            connection,
            tenant=tenant,
            user=user,
            role=parse_role(role),
            created_by=f"cli:{getpass.getuser()}",
            description=description,
            expires_at=expires_at,
        )
        click.echo(
            f"token {issued.token_id} for {user} ({role}) in tenant {tenant};"
            " it is shown only now:",
            err=True,
        )
        return issued.token

    click.echo(_on_catalog(options, run))


@token.command("revoke")
@click.argument("token_or_id")
@backends
def revoke(token_or_id: str, **options: Any) -> None:
    """Revoke a token, given whole or by its id; it stops working at once."""
    try:
        token_id = token_id_of(token_or_id)
    except InvalidParameter as error:
        raise click.BadParameter(error.message, param_hint="TOKEN_OR_ID") from None

    async def run(connection: asyncpg.Connection) -> bool:
        return await revoke_token(connection, token_id)

    if not _on_catalog(options, run):
        raise click.ClickException(f"no live token {token_id}")
    click.echo(f"token {token_id} revoked")


@token.command("list")
@click.option("--tenant", help="Only this tenant's tokens.")
@backends
def list_command(tenant: str | None, **options: Any) -> None:
    """List tokens (never their secrets)."""

    async def run(connection: asyncpg.Connection) -> list[str]:
        return [
            "\t".join(
                (
                    info.token_id,
                    info.tenant,
                    info.user,
                    info.role,
                    f"revoked {info.revoked_at:%Y-%m-%d %H:%M}"
                    if info.revoked_at
                    else "live",
                    info.description,
                )
            )
            for info in await list_tokens(connection, tenant=tenant)
        ]

    for line in _on_catalog(options, run):
        click.echo(line)


def _on_catalog(
    options: dict[str, Any], work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    url, _ = resolve_backends(**{**options, "no_artifacts": True})

    async def run() -> T:
        catalog = Catalog(url)
        await catalog.prepare()
        connection = await catalog.connect(CATALOG_DATABASE)
        try:
            return await work(connection)
        finally:
            await connection.close()

    try:
        return asyncio.run(run())
    except asyncpg.InsufficientPrivilegeError:
        msg = "managing tokens needs administrative access to the catalog database"
        raise click.ClickException(msg) from None
    except (InvalidParameter, NotFound) as error:
        raise click.ClickException(error.message) from None
