"""The `calabi` command line: one command, subcommands, help on each."""

import subprocess
import sys
from pathlib import Path

import pytest

CALABI = str(Path(sys.executable).parent / "calabi")

COMMANDS = [
    [],
    ["serve"],
    ["tenant"],
    ["tenant", "create"],
    ["tenant", "list"],
    ["project"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "log"],
    ["audit", "state"],
    ["audit", "rebuild"],
    ["restore"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself_with_help(command: list[str]) -> None:
    done = subprocess.run(
        [CALABI, *command, "--help"], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0
    assert "Usage: calabi" in done.stdout


@pytest.mark.parametrize(
    "name", ["Acme", "a", "acme_corp", "acme--corp", "-acme", "a;drop", "../x", "é"]
)
def test_tenant_create_refuses_names_that_are_not_plain(
    cluster_url: str, name: str
) -> None:
    done = subprocess.run(
        [
            CALABI,
            "tenant",
            "create",
            "--database-url",
            cluster_url,
            "--no-artifacts",
            "--",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "Invalid tenant name" in done.stderr


def test_tenant_create_then_list_shows_the_tenant(cluster_url: str) -> None:
    create = [CALABI, "tenant", "create", "listed-one"]
    backend = ["--database-url", cluster_url, "--no-artifacts"]

    subprocess.run([*create, *backend], check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [CALABI, "tenant", "list", *backend], capture_output=True, text=True, timeout=60
    )

    assert "listed-one\tactive\tcalabi_mlflow_listed_one" in done.stdout
