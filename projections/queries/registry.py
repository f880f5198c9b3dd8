"""Registry reads: registered models and versions with their tags and aliases.

Each function costs a fixed number of statements whatever the number of
models or versions asked for, so a search page costs what a single get does.
"""

from collections.abc import Sequence

import asyncpg

from projections.registry_views import (
    ModelVersion,
    RegisteredModel,
    RegisteredModelAlias,
)
from projections.views import KeyValue
from tracker.db import Connection

VersionKey = tuple[str, int]

# The order of latest_versions: MLflow's order of the stages.
_STAGE_ORDER = {"None": 0, "Staging": 1, "Production": 2, "Archived": 3}


async def model_key_by_name(connection: Connection, name: str) -> str | None:
    model_key: str | None = await connection.fetchval(
        "SELECT model_key FROM registry_rm.registered_models WHERE name = $1", name
    )
    return model_key


async def registered_model_by_name(
    connection: Connection, name: str
) -> RegisteredModel | None:
    model_key = await model_key_by_name(connection, name)
    if model_key is None:
        return None

    found = await registered_models_by_key(connection, [model_key])

    return found[0] if found else None


async def registered_models_by_key(
    connection: Connection, model_keys: Sequence[str]
) -> list[RegisteredModel]:
    """Return the models with these keys, in the order given."""
    keys = list(model_keys)
    rows = await connection.fetch(
        "SELECT * FROM registry_rm.registered_models WHERE model_key = ANY($1::text[])",
        keys,
    )
    tags = await _model_tags(connection, keys)
    aliases = await _model_aliases(connection, keys)
    latest = await _latest_versions(connection, keys, None)

    found = {
        row["model_key"]: RegisteredModel(
            name=row["name"],
            creation_timestamp=row["creation_time"],
            last_updated_timestamp=row["last_update_time"],
            # MLflow leaves an empty description out.
            description=row["description"] or None,
            latest_versions=latest.get(row["model_key"], []),
            tags=tags.get(row["model_key"], []),
            aliases=aliases.get(row["model_key"], []),
        )
        for row in rows
    }

    return [found[key] for key in keys if key in found]


async def model_version(
    connection: Connection, name: str, version: int
) -> ModelVersion | None:
    model_key = await model_key_by_name(connection, name)
    if model_key is None:
        return None

    found = await model_versions_by_key(connection, [(model_key, version)])

    return found[0] if found else None


async def model_versions_by_key(
    connection: Connection, version_keys: Sequence[VersionKey]
) -> list[ModelVersion]:
    """Return the versions with these keys, in the order given."""
    keys = list(version_keys)
    found = await _versions(connection, keys)

    return [found[key] for key in keys if key in found]


async def latest_versions(
    connection: Connection, model_key: str, stages: Sequence[str] | None
) -> list[ModelVersion]:
    """The newest version of each stage, of ``stages`` only if given."""
    found = await _latest_versions(connection, [model_key], stages)
    return found.get(model_key, [])


async def aliased_version(
    connection: Connection, model_key: str, alias: str
) -> int | None:
    version: int | None = await connection.fetchval(
        "SELECT version FROM registry_rm.registered_model_aliases"
        " WHERE model_key = $1 AND alias = $2",
        model_key,
        alias,
    )
    return version


async def newest_version(connection: Connection, model_key: str) -> int | None:
    version: int | None = await connection.fetchval(
        "SELECT max(version) FROM registry_rm.model_versions WHERE model_key = $1",
        model_key,
    )
    return version


async def storage_location(
    connection: Connection, model_key: str, version: int
) -> str | None:
    location: str | None = await connection.fetchval(
        "SELECT storage_location FROM registry_rm.model_versions"
        " WHERE model_key = $1 AND version = $2",
        model_key,
        version,
    )
    return location


async def _latest_versions(
    connection: Connection, model_keys: list[str], stages: Sequence[str] | None
) -> dict[str, list[ModelVersion]]:
    rows = await connection.fetch(
        "SELECT DISTINCT ON (model_key, current_stage) model_key, version"
        " FROM registry_rm.model_versions"
        " WHERE model_key = ANY($1::text[])"
        " AND ($2::text[] IS NULL OR current_stage = ANY($2::text[]))"
        " ORDER BY model_key, current_stage, version DESC",
        model_keys,
        list(stages) if stages is not None else None,
    )
    versions = await _versions(connection, [(row[0], row[1]) for row in rows])

    grouped: dict[str, list[ModelVersion]] = {}
    for (model_key, _), found in versions.items():
        grouped.setdefault(model_key, []).append(found)
    for listed in grouped.values():
        listed.sort(key=lambda v: _STAGE_ORDER.get(v.current_stage, len(_STAGE_ORDER)))

    return grouped


async def _versions(
    connection: Connection, keys: list[VersionKey]
) -> dict[VersionKey, ModelVersion]:
    model_keys = [model_key for model_key, _ in keys]
    numbers = [number for _, number in keys]
    rows = await connection.fetch(
        "SELECT m.name, v.*"
        " FROM unnest($1::text[], $2::int8[]) AS k(model_key, version)"
        " JOIN registry_rm.model_versions v USING (model_key, version)"
        " JOIN registry_rm.registered_models m USING (model_key)",
        model_keys,
        numbers,
    )
    tags = await connection.fetch(
        "SELECT t.model_key, t.version, t.key, t.value"
        " FROM unnest($1::text[], $2::int8[]) AS k(model_key, version)"
        " JOIN registry_rm.model_version_tags t USING (model_key, version)"
        " ORDER BY t.key",
        model_keys,
        numbers,
    )
    aliases = await connection.fetch(
        "SELECT a.model_key, a.version, a.alias"
        " FROM unnest($1::text[], $2::int8[]) AS k(model_key, version)"
        " JOIN registry_rm.registered_model_aliases a USING (model_key, version)"
        " ORDER BY a.alias",
        model_keys,
        numbers,
    )
    tags_of: dict[VersionKey, list[KeyValue]] = {}
    for model_key, number, key, value in tags:
        tags_of.setdefault((model_key, number), []).append(KeyValue(key, value))
    aliases_of: dict[VersionKey, list[str]] = {}
    for model_key, number, alias in aliases:
        aliases_of.setdefault((model_key, number), []).append(alias)

    found: dict[VersionKey, ModelVersion] = {}
    for row in rows:
        key = (row["model_key"], row["version"])
        found[key] = _version(row, tags_of.get(key, []), aliases_of.get(key, []))

    return found


async def _model_tags(
    connection: Connection, model_keys: list[str]
) -> dict[str, list[KeyValue]]:
    rows = await connection.fetch(
        "SELECT model_key, key, value FROM registry_rm.registered_model_tags"
        " WHERE model_key = ANY($1::text[]) ORDER BY model_key, key",
        model_keys,
    )
    grouped: dict[str, list[KeyValue]] = {}
    for model_key, key, value in rows:
        grouped.setdefault(model_key, []).append(KeyValue(key, value))

    return grouped


async def _model_aliases(
    connection: Connection, model_keys: list[str]
) -> dict[str, list[RegisteredModelAlias]]:
    rows = await connection.fetch(
        "SELECT model_key, alias, version FROM registry_rm.registered_model_aliases"
        " WHERE model_key = ANY($1::text[]) ORDER BY model_key, alias",
        model_keys,
    )
    grouped: dict[str, list[RegisteredModelAlias]] = {}
    for model_key, alias, version in rows:
        grouped.setdefault(model_key, []).append(
            RegisteredModelAlias(alias=alias, version=str(version))
        )

    return grouped


def _version(
    row: asyncpg.Record, tags: list[KeyValue], aliases: list[str]
) -> ModelVersion:
    return ModelVersion(
        name=row["name"],
        version=str(row["version"]),
        creation_timestamp=row["creation_time"],
        last_updated_timestamp=row["last_update_time"],
        current_stage=row["current_stage"],
        description=row["description"],
        source=row["source"],
        status=row["status"],
        run_link=row["run_link"],
        run_id=row["run_id"],
        model_id=row["model_id"],
        tags=tags,
        aliases=aliases,
    )
