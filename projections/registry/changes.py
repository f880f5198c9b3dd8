"""A batch of registry read-model changes, merged in memory and written in sets.

As in the tracking projection, a batch's events are first merged per row
(a version created and moved to Production in one batch is inserted in
Production) and each table is then written with one statement per kind of
change.  Merging gives the rows that applying the events one by one gives;
the replay test holds it to that.

A deleted model's or version's key is never used again, so deleting drops
whatever the batch still held for it and removes its rows; nothing later in
the log can bring them back.
"""

from typing import Any, TypeVar

from projections.tracking.sets import columns, transpose, write_keyed_values
from tracker.db import Connection

ModelKey = str
VersionKey = tuple[str, int]
K = TypeVar("K", bound=tuple[Any, ...])
V = TypeVar("V")


class RegistryChanges:
    """Merged registry changes of one stretch of events, not yet written."""

    def __init__(self) -> None:
        self.new_models: dict[ModelKey, dict[str, Any]] = {}
        self.model_updates: dict[ModelKey, dict[str, Any]] = {}
        self.deleted_models: set[ModelKey] = set()
        self.model_tags: dict[tuple[ModelKey, str], str | None] = {}
        self.aliases: dict[tuple[ModelKey, str], int | None] = {}
        self.new_versions: dict[VersionKey, dict[str, Any]] = {}
        self.version_updates: dict[VersionKey, dict[str, Any]] = {}
        self.deleted_versions: set[VersionKey] = set()
        self.version_tags: dict[tuple[ModelKey, int, str], str | None] = {}

    def update_model(self, model_key: ModelKey, **fields: Any) -> None:
        target = self.new_models.get(model_key)
        if target is None:
            target = self.model_updates.setdefault(model_key, {})
        target.update(fields)

    def update_version(self, model_key: ModelKey, version: int, **fields: Any) -> None:
        target = self.new_versions.get((model_key, version))
        if target is None:
            target = self.version_updates.setdefault((model_key, version), {})
        target.update(fields)

    def delete_model(self, model_key: ModelKey) -> None:
        self.new_models.pop(model_key, None)
        self.model_updates.pop(model_key, None)
        self.deleted_models.add(model_key)
        self.model_tags = _without(self.model_tags, model_key)
        self.aliases = _without(self.aliases, model_key)
        self.new_versions = _without(self.new_versions, model_key)
        self.version_updates = _without(self.version_updates, model_key)
        self.version_tags = _without(self.version_tags, model_key)
        self.deleted_versions = {
            key for key in self.deleted_versions if key[0] != model_key
        }

    def delete_version(self, model_key: ModelKey, version: int) -> None:
        self.new_versions.pop((model_key, version), None)
        self.version_updates.pop((model_key, version), None)
        self.deleted_versions.add((model_key, version))
        for key in [k for k in self.version_tags if k[:2] == (model_key, version)]:
            del self.version_tags[key]

    async def write(self, connection: Connection) -> None:
        """Write every table touched, one statement per table and kind."""
        await self._write_deletions(connection)
        await self._write_models(connection)
        await self._write_model_tags_and_aliases(connection)
        await self._write_versions(connection)
        await self._write_version_tags(connection)

    async def _write_deletions(self, connection: Connection) -> None:
        if self.deleted_models:
            gone = sorted(self.deleted_models)
            for table in (
                "registered_models",
                "registered_model_tags",
                "registered_model_aliases",
                "model_versions",
                "model_version_tags",
            ):
                await connection.execute(
                    f"DELETE FROM {table} WHERE model_key = ANY($1::text[])", gone
                )
        if self.deleted_versions:
            keys, versions = transpose(sorted(self.deleted_versions))
            for table in ("model_versions", "model_version_tags"):
                await connection.execute(
                    f"DELETE FROM {table} t USING unnest($1::text[], $2::int8[])"
                    " AS d(model_key, version)"
                    " WHERE t.model_key = d.model_key AND t.version = d.version",
                    keys,
                    versions,
                )

    async def _write_models(self, connection: Connection) -> None:
        if self.new_models:
            await connection.execute(
                "INSERT INTO registered_models SELECT * FROM unnest($1::text[],"
                " $2::text[], $3::text[], $4::int8[], $5::int8[])",
                *columns(
                    list(self.new_models.values()),
                    "model_key",
                    "name",
                    "description",
                    "creation_time",
                    "last_update_time",
                ),
            )
        if self.model_updates:
            rows = [{"model_key": k, **f} for k, f in self.model_updates.items()]
            await connection.execute(
                "UPDATE registered_models m SET"
                " name = coalesce(u.name, m.name),"
                " description = coalesce(u.description, m.description),"
                " last_update_time = coalesce(u.updated, m.last_update_time)"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[])"
                " AS u(model_key, name, description, updated)"
                " WHERE m.model_key = u.model_key",
                *columns(rows, "model_key", "name", "description", "last_update_time"),
            )

    async def _write_model_tags_and_aliases(self, connection: Connection) -> None:
        await write_keyed_values(
            connection, "registered_model_tags", "model_key", "text", self.model_tags
        )

        kept_aliases = [(*k, v) for k, v in self.aliases.items() if v is not None]
        gone_aliases = [k for k, v in self.aliases.items() if v is None]
        if kept_aliases:
            await connection.execute(
                "INSERT INTO registered_model_aliases SELECT * FROM unnest("
                "$1::text[], $2::text[], $3::int8[]) ON CONFLICT (model_key, alias)"
                " DO UPDATE SET version = excluded.version",
                *transpose(kept_aliases),
            )
        if gone_aliases:
            await connection.execute(
                "DELETE FROM registered_model_aliases a USING unnest($1::text[],"
                " $2::text[]) AS g(model_key, alias)"
                " WHERE a.model_key = g.model_key AND a.alias = g.alias",
                *transpose(gone_aliases),
            )

    async def _write_versions(self, connection: Connection) -> None:
        if self.new_versions:
            await connection.execute(
                "INSERT INTO model_versions SELECT * FROM unnest($1::text[],"
                " $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[],"
                " $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],"
                " $12::text[])",
                *columns(
                    list(self.new_versions.values()),
                    "model_key",
                    "version",
                    "creation_time",
                    "last_update_time",
                    "current_stage",
                    "description",
                    "source",
                    "storage_location",
                    "run_id",
                    "run_link",
                    "model_id",
                    "status",
                ),
            )
        if self.version_updates:
            rows = [
                {"model_key": key, "version": version, **fields}
                for (key, version), fields in self.version_updates.items()
            ]
            await connection.execute(
                "UPDATE model_versions v SET"
                " current_stage = coalesce(u.stage, v.current_stage),"
                " description = coalesce(u.description, v.description),"
                " last_update_time = coalesce(u.updated, v.last_update_time)"
                " FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[],"
                " $5::int8[]) AS u(model_key, version, stage, description, updated)"
                " WHERE v.model_key = u.model_key AND v.version = u.version",
                *columns(
                    rows,
                    "model_key",
                    "version",
                    "current_stage",
                    "description",
                    "last_update_time",
                ),
            )

    async def _write_version_tags(self, connection: Connection) -> None:
        kept = [(*k, v) for k, v in self.version_tags.items() if v is not None]
        gone = [k for k, v in self.version_tags.items() if v is None]
        if kept:
            await connection.execute(
                "INSERT INTO model_version_tags SELECT * FROM unnest($1::text[],"
                " $2::int8[], $3::text[], $4::text[])"
                " ON CONFLICT (model_key, version, key)"
                " DO UPDATE SET value = excluded.value",
                *transpose(kept),
            )
        if gone:
            await connection.execute(
                "DELETE FROM model_version_tags t USING unnest($1::text[],"
                " $2::int8[], $3::text[]) AS g(model_key, version, key)"
                " WHERE t.model_key = g.model_key AND t.version = g.version"
                " AND t.key = g.key",
                *transpose(gone),
            )


def _without(merged: dict[K, V], model_key: ModelKey) -> dict[K, V]:
    """``merged`` without the entries of one model; keys start with its key."""
    return {key: value for key, value in merged.items() if key[0] != model_key}
