"""Encoding events for the log, and decoding them back through upcasters.

A stored event is ``(event_type, schema_version, data)``.  Decoding looks up
the current Struct for ``event_type``; an older ``schema_version`` is first
carried forward by the registered upcasters, one version step at a time, on
the raw mapping.  Stored events are never rewritten.

``data`` is the event as msgpack, or, from ``COMPRESS_FROM`` bytes up, that
msgpack as a zstd frame.  A frame begins with zstd's magic number, which no
msgpack map does, so both kinds read back alike, whenever they were stored.
"""

from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import zstandard

from tracker.eventlog.events import TRACKING_EVENTS, Event
from tracker.eventlog.registry_events import REGISTRY_EVENTS

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# About where PostgreSQL would start compressing a value itself (its TOAST
# threshold).  A 1,000-point batch is about 48 KiB of msgpack: zstd at level
# 1 compresses it further than PostgreSQL's pglz did, in a tenth of the time
# (0.1 ms of the server's against 0.9 ms of the database's), so the column
# now stores payloads as given (schemas/tenant/0006_*.sql).
COMPRESS_FROM = 2000
ZSTD_LEVEL = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


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
        self._compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self._decompressor = zstandard.ZstdDecompressor()

    def register_upcaster(
        self, event_type: str, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Register a function carrying ``event_type`` from a version to the next."""

        def register(upcaster: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = upcaster
            return upcaster

        return register

    def encode(self, event: Event) -> tuple[str, int, bytes]:
        data = self._encoder.encode(event)
        if len(data) >= COMPRESS_FROM:
            data = self._compressor.compress(data)
        return type(event).__name__, event.schema_version, data

    def decode(self, event_type: str, schema_version: int, data: bytes) -> Event:
        if data[:4] == _ZSTD_MAGIC:
            data = self._decompressor.decompress(data)
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
