"""``calabi``: serve the API and administer tenants."""

import click

from tracker.cli.audit import audit
from tracker.cli.project import project
from tracker.cli.restore import restore
from tracker.cli.serve import serve
from tracker.cli.tenant import tenant
from tracker.cli.token import token
from tracker.logging import configure_logging


@click.group()
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
def cli(log_level: str) -> None:
    """Calabi ML: an event-sourced, MLflow-compatible tracking server."""
    configure_logging(log_level)


cli.add_command(serve)
cli.add_command(tenant)
cli.add_command(project)
cli.add_command(token)
cli.add_command(audit)
cli.add_command(restore)


def main() -> None:
    cli(auto_envvar_prefix="CALABI")
