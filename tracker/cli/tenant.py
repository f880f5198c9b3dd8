"""``calabi tenant``: create and list tenants."""

import asyncio
from typing import Any

import click

from tracker.cli.options import backends, resolve_backends
from tracker.errors import InvalidParameter
from tracker.tenancy.catalog import Catalog


@click.group()
def tenant() -> None:
    """Create and list tenants."""


@tenant.command("create")
@click.argument("name")
@backends
def create(name: str, **options: Any) -> None:
    """Create tenant NAME: its database, schema, bucket and Default experiment."""
    catalog = Catalog(*resolve_backends(**options))
    try:
        created = asyncio.run(catalog.create_tenant(name))
    except InvalidParameter as error:
        raise click.BadParameter(error.message, param_hint="NAME") from None

    click.echo(f"tenant {name} {'created' if created else 'already exists'}")


@tenant.command("list")
@backends
def list_tenants(**options: Any) -> None:
    """List the tenants and their state."""
    catalog = Catalog(*resolve_backends(**options))
    asyncio.run(catalog.prepare())

    for row in asyncio.run(catalog.tenants()):
        click.echo(f"{row['name']}\t{row['state']}\t{row['database']}")
