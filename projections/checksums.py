"""Row counts and checksums of read-model tables, to compare two builds."""

import msgspec

from tracker.db import Connection


class TableChecksum(msgspec.Struct, frozen=True):
    rows: int
    md5: str


async def read_model_checksums(
    connection: Connection, schema: str = "rm"
) -> dict[str, TableChecksum]:
    """Checksum every table of ``schema`` over its rows' text, in a fixed order."""
    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
        schema,
    )
    checksums: dict[str, TableChecksum] = {}
    for (table,) in tables:
        # quote_ident keeps names safe; the names come from the catalog.
        quoted = await connection.fetchval(
            "SELECT quote_ident($1) || '.' || quote_ident($2)", schema, table
        )
        rows, md5 = await connection.fetchrow(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n'"
            f" ORDER BY t::text)), '') FROM {quoted} AS t"
        ) or (0, "")
        checksums[table] = TableChecksum(rows, md5)

    return checksums
