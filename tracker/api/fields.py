"""Field conventions shared by MLflow's request messages."""

from collections.abc import Callable, Sequence

import msgspec
from aiohttp import web

from projections.search.page_tokens import encode_offset
from tracker.api.messages import KeyValueIn, RunRef
from tracker.errors import InvalidParameter
from tracker.eventlog.events import Tag

VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}

_encode = msgspec.json.Encoder().encode


def respond(message: msgspec.Struct | dict[str, object] | None = None) -> web.Response:
    """Answer 200 with the message as JSON; MLflow's empty answer is ``{}``."""
    body = _encode(message) if message is not None else b"{}"
    return web.Response(body=body, content_type="application/json")


def run_id_of(message: RunRef) -> str:
    """MLflow accepts ``run_id`` or the older ``run_uuid`` on every run request."""
    run_id = message.run_id or message.run_uuid
    if not run_id:
        raise InvalidParameter("Missing value for required parameter 'run_id'.")
    return run_id


def required(value: str | None, name: str) -> str:
    if value is None:
        raise InvalidParameter(f"Missing value for required parameter '{name}'.")
    return value


def enum_name(
    value: str | int | None, names: dict[int, str], field: str, default: str
) -> str:
    """An enum given by name or by number, as protobuf JSON allows."""
    if value is None or value == "":
        return default
    if isinstance(value, int) or value.isdigit():
        name = names.get(int(value))
    else:
        name = value.upper() if value.upper() in names.values() else None
    if name is None:
        raise InvalidParameter(f"Invalid value {value!r} for parameter '{field}'")
    return name


def view_type(value: str | int | None, field: str = "view_type") -> str:
    return enum_name(value, VIEW_TYPES, field, "ACTIVE_ONLY")


def tags_of(items: list[KeyValueIn], what: str = "tags") -> list[Tag]:
    return [
        Tag(required(item.key, f"{what}.key"), required(item.value, f"{what}.value"))
        for item in items
    ]


def page_size(value: int | None, default: int, limit: int) -> int:
    """A ``max_results`` field: ``default`` when absent, else 1 to ``limit``."""
    if value is None:
        return default
    if not 1 <= value <= limit:
        msg = (
            f"Invalid value {value} for parameter 'max_results' supplied. It must "
            f"be a positive integer at most {limit}."
        )
        raise InvalidParameter(msg)
    return value


def search_page(
    field: str,
    items: Sequence[object],
    matched: int,
    offset: int,
    max_results: int,
    token: Callable[[int], str] = encode_offset,
) -> web.Response:
    """Answer one page of a search.

    The query asks for one row more than the page holds, so ``matched`` over
    ``max_results`` means a next page exists; MLflow's answer then carries a
    token, and on the last page none (a token there makes clients loop).
    ``token`` makes the token of the page after a given number of results.
    """
    answer: dict[str, object] = {}
    if items:
        answer[field] = list(items)
    if matched > max_results:
        answer["next_page_token"] = token(offset + max_results)

    return respond(answer)
