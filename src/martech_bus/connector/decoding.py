"""What the connector reads and how: topics per event type, and the schema version each mapping reads.

Every message is decoded from the Confluent wire format with whichever
registered version wrote it INTO the version the adapter's pinned mapping
accepts (the highest accepted version the registry holds), by Avro schema
resolution. The decoded event then says that version in ``schema_version``, so
the pipeline validates it against the schema it now has; the version the
producer wrote is counted in the connector's stats.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from martech_bus.errors import CodecError, ConfigError, Location, UnknownSchemaError
from martech_bus.schema.codec import AvroCodec, decode_wire

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

logger = logging.getLogger("martech_bus.connector")

#: (subject, writer version, reader version)
Resolution = tuple[str, int, int]
TopicFor = Callable[["RegisteredSchema"], str]


def topic_for(entry: RegisteredSchema) -> str:
    """The bus topic ``entry``'s events are published to (the publisher's convention)."""
    from martech_bus.bus.topics import topic_for as published_topic

    return published_topic(entry)


def reader_versions(adapter: Adapter, registry: SchemaRegistry) -> dict[str, int]:
    """Per event type the adapter maps: the highest version its pinned mapping accepts that exists."""
    readers: dict[str, int] = {}
    for event_type in adapter.manifest.mappings:
        accepted = set(adapter.mapping_for(event_type).spec.versions)
        try:
            registered = {entry.version for entry in registry.versions(event_type)}
        except UnknownSchemaError as exc:
            raise ConfigError(
                f"adapter {adapter.name!r} maps {event_type!r}, which the registry does not hold: "
                f"{exc.message}"
            ) from None
        usable = accepted & registered
        if not usable:
            raise ConfigError(
                f"adapter {adapter.name!r}: the pinned {event_type} mapping accepts versions "
                f"{sorted(accepted)}, the registry holds {sorted(registered)}",
                location=Location(file=adapter.manifest.file, path=f"mappings.{event_type}"),
            )
        readers[event_type] = max(usable)
    return readers


def topics_for(
    adapter: Adapter,
    registry: SchemaRegistry,
    *,
    prefix: str = "",
    topic_of: TopicFor = topic_for,
) -> list[str]:
    """Every topic carrying an event type the adapter maps (one per major version), sorted."""
    return sorted(
        {
            prefix + topic_of(entry)
            for event_type in adapter.manifest.mappings
            for entry in registry.versions(event_type)
        }
    )


class BusDecoder:
    """Confluent frames -> datum-form events in the version each event type's mapping reads."""

    def __init__(self, registry: SchemaRegistry, readers: Mapping[str, int]) -> None:
        self.registry = registry
        self.readers = dict(readers)
        self._codec = AvroCodec(registry)

    def decode(self, value: bytes | None) -> tuple[dict[str, Any], Resolution]:
        """The event in a message value, and (subject, writer version, reader version).

        ``CodecError`` for anything that is not a frame of a registered schema.
        An event type the adapter does not map is read as written (the pipeline skips it).
        """
        if value is None:
            raise CodecError("the message has no value (a tombstone?)")
        schema_id, _ = decode_wire(value)
        try:
            writer = self.registry.by_id(schema_id)
        except UnknownSchemaError:
            raise CodecError(
                f"unknown schema id {schema_id}: the registry has no such schema "
                "(written against another registry, or not synced?)"
            ) from None
        reader, datum = self._codec.decode(value, reader_version=self.readers.get(writer.subject))
        datum["schema_version"] = reader.version
        return datum, (writer.subject, writer.version, reader.version)


__all__ = [
    "BusDecoder",
    "Resolution",
    "reader_versions",
    "topic_for",
    "topics_for",
]
