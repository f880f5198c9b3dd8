"""Commands on a registered model's aliases, each naming one of its versions."""

from tracker.clock import now_ms
from tracker.commands import registry_validation as rules
from tracker.commands.registry.model_lock import (
    VersionIn,
    append_to_model,
    lock_registered_model,
    require_version,
)
from tracker.eventlog.append import WriteTransaction
from tracker.eventlog.registry_events import (
    RegisteredModelAliasDeleted,
    RegisteredModelAliasSet,
)


async def set_registered_model_alias(
    tx: WriteTransaction, name: str | None, alias: str | None, version: VersionIn
) -> None:
    """Point ``alias`` at ``version``, moving it from any version it named."""
    alias = rules.check_alias(alias)
    rules.check_alias_not_reserved(alias)
    number = rules.parse_version(version)
    model = await lock_registered_model(tx, name)
    await require_version(tx, model, number)

    await tx.connection.execute(
        "INSERT INTO decision.registered_model_aliases VALUES ($1, $2, $3)"
        " ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
        model.model_key,
        alias,
        number,
    )
    event = RegisteredModelAliasSet(
        model_key=model.model_key,
        name=model.name,
        alias=alias,
        version=number,
        set_at=now_ms(),
    )
    await append_to_model(tx, model, [event])


async def delete_registered_model_alias(
    tx: WriteTransaction, name: str | None, alias: str | None
) -> None:
    """Delete an alias; deleting one that is not there is no error, as in MLflow."""
    alias = rules.check_alias(alias)
    model = await lock_registered_model(tx, name)

    deleted = await tx.connection.fetchval(
        "DELETE FROM decision.registered_model_aliases"
        " WHERE model_key = $1 AND alias = $2 RETURNING alias",
        model.model_key,
        alias,
    )
    if deleted is None:
        return

    event = RegisteredModelAliasDeleted(
        model_key=model.model_key, name=model.name, alias=alias, deleted_at=now_ms()
    )
    await append_to_model(tx, model, [event])
