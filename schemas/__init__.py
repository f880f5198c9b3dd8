"""SQL migrations, read-model definitions and published event schemas."""

from importlib.resources import files
from importlib.resources.abc import Traversable


def files_in(folder: str) -> Traversable:
    """The folder ``folder`` of this package."""
    return files(__name__).joinpath(folder)


def sql_files(folder: str) -> list[Traversable]:
    """The ``.sql`` files of one folder of this package, in name order."""
    return sorted(
        (entry for entry in files_in(folder).iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
