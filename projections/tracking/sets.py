"""Helpers for writing a batch's rows with one statement per table."""

from typing import Any

from tracker.db import Connection


def transpose(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


def columns(rows: list[dict[str, Any]], *names: str) -> list[list[Any]]:
    return [[row.get(name) for row in rows] for name in names]


async def write_keyed_values(
    connection: Connection,
    table: str,
    owner_column: str,
    owner_type: str,
    values: dict[tuple[Any, str], str | None],
) -> None:
    """Upsert the set keys and delete the deleted ones of a key-value table."""
    kept = [
        (owner, key, value)
        for (owner, key), value in values.items()
        if value is not None
    ]
    gone = [(owner, key) for (owner, key), value in values.items() if value is None]

    if kept:
        await connection.execute(
            f"INSERT INTO {table} SELECT * FROM unnest("
            f"$1::{owner_type}[], $2::text[], $3::text[])"
            f" ON CONFLICT ({owner_column}, key) DO UPDATE SET value = excluded.value",
            *transpose(kept),
        )
    if gone:
        await connection.execute(
            f"DELETE FROM {table} t USING unnest($1::{owner_type}[], $2::text[])"
            f" AS g(owner, key) WHERE t.{owner_column} = g.owner AND t.key = g.key",
            *transpose(gone),
        )
