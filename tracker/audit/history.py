"""Streaming a tenant's history from the log, filtered and decoded."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from tracker.db import Connection
from tracker.eventlog.codec import codec


class HistoryFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which events to show; every field left None lets all through."""

    from_position: int | None = None
    to_position: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    experiment_id: int | None = None
    run_id: str | None = None
    event_types: tuple[str, ...] = ()
    actor: str | None = None


class AuditEvent(msgspec.Struct, frozen=True):
    position: int
    recorded_at: datetime
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    actor: str
    request_id: str | None
    meta: dict[str, Any]
    event: dict[str, Any]


_decode_meta = msgspec.json.Decoder(dict[str, Any]).decode


def _where(selected: HistoryFilter) -> tuple[str, list[object]]:
    conditions: list[str] = []
    args: list[object] = []

    def bind(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if selected.from_position is not None:
        conditions.append(f"position >= {bind(selected.from_position)}")
    if selected.to_position is not None:
        conditions.append(f"position <= {bind(selected.to_position)}")
    if selected.since is not None:
        conditions.append(f"recorded_at >= {bind(selected.since)}")
    if selected.until is not None:
        conditions.append(f"recorded_at <= {bind(selected.until)}")
    if selected.run_id is not None:
        conditions.append(f"stream_id = {bind('run-' + selected.run_id)}")
    if selected.experiment_id is not None:
        # An experiment's history is its own stream and its runs' and models'.
        experiment = bind(selected.experiment_id)
        conditions.append(
            f"(stream_id = 'experiment-' || {experiment}::text"
            " OR stream_id IN (SELECT 'run-' || run_id FROM decision.runs"
            f" WHERE experiment_id = {experiment})"
            " OR stream_id IN (SELECT 'model-' || model_id FROM decision.logged_models"
            f" WHERE experiment_id = {experiment}))"
        )
    if selected.event_types:
        conditions.append(f"event_type = ANY({bind(list(selected.event_types))})")
    if selected.actor is not None:
        conditions.append(f"meta->>'actor' = {bind(selected.actor)}")

    return (" WHERE " + " AND ".join(conditions) if conditions else ""), args


async def stream_history(
    connection: Connection, selected: HistoryFilter
) -> AsyncIterator[AuditEvent]:
    """Yield matching events in log order, decoded by the server's own codec.

    Must be iterated inside a transaction (a server-side cursor needs one).
    """
    where, args = _where(selected)
    query = (
        "SELECT position, recorded_at, stream_id, stream_version, event_type,"
        " schema_version, data, meta::text AS meta FROM es.events"
        f"{where} ORDER BY position"
    )

    async for row in connection.cursor(query, *args, prefetch=2000):
        event = codec.decode(row["event_type"], row["schema_version"], row["data"])
        meta = _decode_meta(row["meta"])
        yield AuditEvent(
            position=row["position"],
            recorded_at=row["recorded_at"],
            stream_id=row["stream_id"],
            stream_version=row["stream_version"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            actor=str(meta.get("actor", "")),
            request_id=meta.get("request_id"),
            meta=meta,
            event=msgspec.to_builtins(event),
        )


async def position_at(connection: Connection, moment: datetime) -> int:
    """The last position recorded at or before ``moment`` (0 if none).

    ``recorded_at`` never decreases along the log, so this is well defined.
    """
    position: int = await connection.fetchval(
        "SELECT coalesce(max(position), 0) FROM es.events WHERE recorded_at <= $1",
        moment,
    )
    return position
