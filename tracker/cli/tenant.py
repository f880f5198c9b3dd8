"""``calabi tenant``: create and list tenants."""

import asyncio

import click

from tracker.cli.options import database_url, embedded, resolve_database_url
from tracker.errors import InvalidParameter
from tracker.tenancy.catalog import Catalog


@click.group()
def tenant() -> None:
    """Create and list tenants."""


@tenant.command("create")
@click.argument("name")
@database_url
@embedded
def create(name: str, database_url: str | None, embedded: bool) -> None:
    """Create tenant NAME: its database, schema and Default experiment."""
    catalog = Catalog(resolve_database_url(database_url, embedded))
    try:
        created = asyncio.run(catalog.create_tenant(name))
    except InvalidParameter as error:
        raise click.BadParameter(error.message, param_hint="NAME") from None

    click.echo(f"tenant {name} {'created' if created else 'already exists'}")


@tenant.command("list")
@database_url
@embedded
def list_tenants(database_url: str | None, embedded: bool) -> None:
    """List the tenants and their state."""
    catalog = Catalog(resolve_database_url(database_url, embedded))
    asyncio.run(catalog.prepare())

    for row in asyncio.run(catalog.tenants()):
        click.echo(f"{row['name']}\t{row['state']}\t{row['database']}")
