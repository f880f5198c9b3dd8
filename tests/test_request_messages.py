"""The request message structs: what their types promise every handler."""

import inspect
import types
import typing
from typing import Any

import msgspec
import pytest

from tracker.api import messages, registry_messages
from tracker.api.messages import Int64

MESSAGE_MODULES = (messages, registry_messages)


def _message_types() -> list[type[msgspec.Struct]]:
    return [
        value
        for module in MESSAGE_MODULES
        for value in vars(module).values()
        if inspect.isclass(value) and issubclass(value, msgspec.Struct)
    ]


def _bare_ints(hint: Any) -> bool:
    """Whether ``hint`` holds an ``int`` with no bounds attached."""
    if hint is int:
        return True
    if typing.get_origin(hint) is typing.Annotated:
        return False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_bare_ints(arm) for arm in typing.get_args(hint))
    return any(_bare_ints(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("message", _message_types(), ids=lambda m: m.__name__)
def test_every_integer_field_is_bounded_to_64_bits(
    message: type[msgspec.Struct],
) -> None:
    # The parser no longer walks a decoded request to check its integers:
    # an unbounded int field would let a wider one through to PostgreSQL.
    hints = typing.get_type_hints(message, include_extras=True)

    unbounded = [name for name, hint in hints.items() if _bare_ints(hint)]

    assert unbounded == []


def test_int64_spans_exactly_the_signed_64_bit_range() -> None:
    decode = msgspec.json.Decoder(Int64).decode

    assert decode(b"-9223372036854775808") == -(2**63)
    assert decode(b"9223372036854775807") == 2**63 - 1
    with pytest.raises(msgspec.ValidationError):
        decode(b"9223372036854775808")
