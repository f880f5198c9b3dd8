"""Handlers of the registry: ``/mlflow/registered-models/...``, ``model-versions/...``.

Writes answer with the entity as the read models hold it once the write is
projected, as every read does.  The DELETE routes take their fields from a
JSON body, as the stock client sends them, or from the query string.
"""

from aiohttp import web

from projections.queries import registry as queries
from projections.search.page_tokens import decode_offset
from projections.search.registry_query import (
    compile_model_version_search,
    compile_registered_model_search,
)
from tracker.api import registry_messages as m
from tracker.api.fields import page_size, required, respond, search_page, tags_of
from tracker.commands import registry as commands
from tracker.commands import registry_validation as rules
from tracker.db import Connection
from tracker.errors import InvalidParameter, NotFound
from tracker.eventlog.events import Tag
from tracker.http.request_parsing import parse
from tracker.http.tenants import reading, writing

DEFAULT_MODEL_RESULTS = 100
MAX_MODEL_RESULTS = 1000
DEFAULT_VERSION_RESULTS = 200_000
MAX_VERSION_RESULTS = 200_000

# Registered models ---------------------------------------------------------


async def create_registered_model(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateRegisteredModel)

    async with writing(request) as tx:
        model_key = await commands.create_registered_model(
            tx,
            message.name,
            tags=tags_of(message.tags),
            description=message.description,
        )

    return await _answer_model(request, model_key)


async def get_registered_model(request: web.Request) -> web.Response:
    message = await parse(request, m.RegisteredModelRef)
    name = rules.check_model_name(message.name)

    async with reading(request) as connection:
        model = await queries.registered_model_by_name(connection, name)
    if model is None:
        raise _missing_model(name)

    return respond({"registered_model": model})


async def rename_registered_model(request: web.Request) -> web.Response:
    message = await parse(request, m.RenameRegisteredModel)

    async with writing(request) as tx:
        model_key = await commands.rename_registered_model(
            tx, message.name, message.new_name
        )

    return await _answer_model(request, model_key)


async def update_registered_model(request: web.Request) -> web.Response:
    message = await parse(request, m.UpdateRegisteredModel)

    async with writing(request) as tx:
        model_key = await commands.update_registered_model(
            tx, message.name, message.description
        )

    return await _answer_model(request, model_key)


async def delete_registered_model(request: web.Request) -> web.Response:
    message = await parse(request, m.RegisteredModelRef)

    async with writing(request) as tx:
        await commands.delete_registered_model(tx, message.name)

    return respond()


async def search_registered_models(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchRegistry)
    max_results = page_size(
        message.max_results, DEFAULT_MODEL_RESULTS, MAX_MODEL_RESULTS
    )
    offset = decode_offset(message.page_token)
    sql, args = compile_registered_model_search(
        message.filter, message.order_by, offset, max_results + 1
    )

    async with reading(request) as connection:
        keys = [row[0] for row in await connection.fetch(sql, *args)]
        models = await queries.registered_models_by_key(connection, keys[:max_results])

    return search_page("registered_models", models, len(keys), offset, max_results)


async def get_latest_versions(request: web.Request) -> web.Response:
    message = await parse(request, m.GetLatestVersions)
    name = rules.check_model_name(message.name)
    stages = [rules.canonical_stage(stage) for stage in message.stages] or None

    async with reading(request) as connection:
        model_key = await _model_key(connection, name)
        versions = await queries.latest_versions(connection, model_key, stages)

    return respond({"model_versions": versions} if versions else {})


async def set_registered_model_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.SetRegisteredModelTag)
    # MLflow's proto has no "unset" for the value: a missing one is empty.
    tag = Tag(required(message.key, "key"), message.value or "")

    async with writing(request) as tx:
        await commands.set_registered_model_tag(tx, message.name, tag)

    return respond()


async def delete_registered_model_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.DeleteRegisteredModelTag)
    key = required(message.key, "key")

    async with writing(request) as tx:
        await commands.delete_registered_model_tag(tx, message.name, key)

    return respond()


async def set_registered_model_alias(request: web.Request) -> web.Response:
    message = await parse(request, m.SetRegisteredModelAlias)

    async with writing(request) as tx:
        await commands.set_registered_model_alias(
            tx, message.name, message.alias, message.version
        )

    return respond()


async def delete_registered_model_alias(request: web.Request) -> web.Response:
    message = await parse(request, m.RegisteredModelAliasRef)

    async with writing(request) as tx:
        await commands.delete_registered_model_alias(tx, message.name, message.alias)

    return respond()


async def get_model_version_by_alias(request: web.Request) -> web.Response:
    message = await parse(request, m.RegisteredModelAliasRef)
    name = rules.check_model_name(message.name)
    alias = rules.check_alias(message.alias)

    async with reading(request) as connection:
        model_key = await _model_key(connection, name)
        # "latest" is reserved: it names the newest version, not an alias.
        if alias.lower() == rules.LATEST:
            version = await queries.newest_version(connection, model_key)
            if version is None:
                raise NotFound(f"Latest version not found for model {name}.")
        else:
            version = await queries.aliased_version(connection, model_key, alias)
            if version is None:
                raise InvalidParameter(f"Registered model alias {alias} not found.")
        found = await queries.model_versions_by_key(connection, [(model_key, version)])
    if not found:
        raise _missing_version(name, version)

    return respond({"model_version": found[0]})


# Model versions -------------------------------------------------------------


async def create_model_version(request: web.Request) -> web.Response:
    message = await parse(request, m.CreateModelVersion)

    async with writing(request) as tx:
        created = await commands.create_model_version(
            tx,
            message.name,
            message.source,
            run_id=message.run_id,
            model_id=message.model_id,
            tags=tags_of(message.tags),
            run_link=message.run_link,
            description=message.description,
        )

    return await _answer_version(request, created)


async def get_model_version(request: web.Request) -> web.Response:
    message = await parse(request, m.ModelVersionRef)
    name = rules.check_model_name(message.name)
    version = rules.parse_version(message.version)

    async with reading(request) as connection:
        found = await queries.model_version(connection, name, version)
    if found is None:
        raise _missing_version(name, version)

    return respond({"model_version": found})


async def update_model_version(request: web.Request) -> web.Response:
    message = await parse(request, m.UpdateModelVersion)

    async with writing(request) as tx:
        updated = await commands.update_model_version(
            tx, message.name, message.version, message.description
        )

    return await _answer_version(request, updated)


async def transition_model_version_stage(request: web.Request) -> web.Response:
    message = await parse(request, m.TransitionModelVersionStage)

    async with writing(request) as tx:
        moved = await commands.transition_model_version_stage(
            tx,
            message.name,
            message.version,
            message.stage,
            archive_existing_versions=message.archive_existing_versions,
        )

    return await _answer_version(request, moved)


async def delete_model_version(request: web.Request) -> web.Response:
    message = await parse(request, m.ModelVersionRef)

    async with writing(request) as tx:
        await commands.delete_model_version(tx, message.name, message.version)

    return respond()


async def search_model_versions(request: web.Request) -> web.Response:
    message = await parse(request, m.SearchRegistry)
    max_results = page_size(
        message.max_results, DEFAULT_VERSION_RESULTS, MAX_VERSION_RESULTS
    )
    offset = decode_offset(message.page_token)
    sql, args = compile_model_version_search(
        message.filter, message.order_by, offset, max_results + 1
    )

    async with reading(request) as connection:
        keys = [(row[0], row[1]) for row in await connection.fetch(sql, *args)]
        versions = await queries.model_versions_by_key(connection, keys[:max_results])

    return search_page("model_versions", versions, len(keys), offset, max_results)


async def get_model_version_download_uri(request: web.Request) -> web.Response:
    message = await parse(request, m.ModelVersionRef)
    name = rules.check_model_name(message.name)
    version = rules.parse_version(message.version)

    async with reading(request) as connection:
        model_key = await queries.model_key_by_name(connection, name)
        location = (
            await queries.storage_location(connection, model_key, version)
            if model_key is not None
            else None
        )
    if location is None:
        raise _missing_version(name, version)

    return respond({"artifact_uri": location})


async def set_model_version_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.SetModelVersionTag)
    tag = Tag(required(message.key, "key"), message.value or "")

    async with writing(request) as tx:
        await commands.set_model_version_tag(tx, message.name, message.version, tag)

    return respond()


async def delete_model_version_tag(request: web.Request) -> web.Response:
    message = await parse(request, m.DeleteModelVersionTag)
    key = required(message.key, "key")

    async with writing(request) as tx:
        await commands.delete_model_version_tag(tx, message.name, message.version, key)

    return respond()


# Answers ---------------------------------------------------------------------


async def _answer_model(request: web.Request, model_key: str) -> web.Response:
    async with reading(request) as connection:
        found = await queries.registered_models_by_key(connection, [model_key])
    if not found:
        # Deleted by another request between the write and this read.
        raise NotFound("The registered model was deleted meanwhile")

    return respond({"registered_model": found[0]})


async def _answer_version(
    request: web.Request, version: commands.VersionRef
) -> web.Response:
    key = (version.model_key, version.version)
    async with reading(request) as connection:
        found = await queries.model_versions_by_key(connection, [key])
    if not found:
        raise NotFound(f"Model version {version.version} was deleted meanwhile")

    return respond({"model_version": found[0]})


async def _model_key(connection: Connection, name: str) -> str:
    model_key = await queries.model_key_by_name(connection, name)
    if model_key is None:
        raise _missing_model(name)

    return model_key


def _missing_model(name: str) -> NotFound:
    return NotFound(f"Registered Model with name={name} not found")


def _missing_version(name: str, version: int) -> NotFound:
    return NotFound(f"Model Version (name={name}, version={version}) not found")
