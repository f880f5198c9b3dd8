"""Encoding events for the log, and decoding them back through upcasters.

A stored event is ``(event_type, schema_version, data)``.  Decoding looks up
the current Struct for ``event_type``; an older ``schema_version`` is first
carried forward by the registered upcasters, one version step at a time, on
the raw mapping.  Stored events are never rewritten.
"""

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from tracker.eventlog.events import TRACKING_EVENTS, Event
from tracker.eventlog.registry_events import REGISTRY_EVENTS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEvent(Exception):
    """The log holds an event type or version this code cannot read."""


class EventCodec:
    """Turns events into stored payloads and back."""

    def __init__(self, event_types: Iterable[type[Event]]) -> None:
        self._types = {cls.__name__: cls for cls in event_types}
        self._decoders = {
            name: msgspec.msgpack.Decoder(cls) for name, cls in self._types.items()
        }
        self._raw = msgspec.msgpack.Decoder(dict[str, Any])
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._encoder = msgspec.msgpack.Encoder()

    def register_upcaster(
        self, event_type: str, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Register a function carrying ``event_type`` from a version to the next."""

        def register(upcaster: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = upcaster
            return upcaster

        return register

    def encode(self, event: Event) -> tuple[str, int, bytes]:
        return type(event).__name__, event.schema_version, self._encoder.encode(event)

    def decode(self, event_type: str, schema_version: int, data: bytes) -> Event:
        cls = self._types.get(event_type)
        if cls is None:
            raise UnknownEvent(f"unknown event type {event_type!r}")
        if schema_version == cls.schema_version:
            return self._decoders[event_type].decode(data)
        if schema_version > cls.schema_version:
            msg = (
                f"{event_type} v{schema_version} is newer than this code "
                f"(v{cls.schema_version})"
            )
            raise UnknownEvent(msg)

        raw = self._raw.decode(data)
        for version in range(schema_version, cls.schema_version):
            upcaster = self._upcasters.get((event_type, version))
            if upcaster is None:
                msg = f"no upcaster for {event_type} v{version}"
                raise UnknownEvent(msg)
            raw = upcaster(raw)

        return msgspec.convert(raw, cls)


codec = EventCodec(TRACKING_EVENTS + REGISTRY_EVENTS)
