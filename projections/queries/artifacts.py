"""Artifact listings, read from the log's record of what each root holds."""

import msgspec

from projections.views import FileInfo
from tracker.db import Connection


class StoredFile(msgspec.Struct, frozen=True):
    path: str
    size: int
    version_id: str | None


async def stored_file(
    connection: Connection, root: str, path: str
) -> StoredFile | None:
    row = await connection.fetchrow(
        "SELECT path, size, version_id FROM rm.artifacts WHERE root = $1 AND path = $2",
        root,
        path,
    )
    return StoredFile(row[0], row[1], row[2]) if row is not None else None


async def files_under(
    connection: Connection, root: str, directory: str
) -> list[StoredFile]:
    """Every file at or below ``directory`` of ``root``, in path order."""
    rows = await connection.fetch(
        "SELECT path, size, version_id FROM rm.artifacts WHERE root = $1"
        " AND ($2 = '' OR path = $2 OR starts_with(path, $2 || '/')) ORDER BY path",
        root,
        directory,
    )
    return [StoredFile(path, size, version) for path, size, version in rows]


async def list_directory(
    connection: Connection, root: str, directory: str
) -> list[FileInfo]:
    """The direct children of ``directory``: files with sizes, and folders.

    Paths are relative to ``directory``'s parent list as MLflow returns them:
    the caller adds whatever prefix its API uses.  A file named as the
    directory lists nothing, as MLflow answers for a file.
    """
    prefix = f"{directory}/" if directory else ""
    rows = await connection.fetch(
        "SELECT split_part(substr(path, length($2) + 1), '/', 1) AS name,"
        " bool_or(strpos(substr(path, length($2) + 1), '/') > 0) AS is_dir,"
        " max(size) FILTER (WHERE strpos(substr(path, length($2) + 1), '/') = 0)"
        " AS size"
        " FROM rm.artifacts WHERE root = $1 AND starts_with(path, $2)"
        " GROUP BY 1 ORDER BY 1",
        root,
        prefix,
    )

    return [
        FileInfo(path=name, is_dir=True)
        if is_dir
        else FileInfo(path=name, is_dir=False, file_size=size)
        for name, is_dir, size in rows
    ]
