"""Sync the catalogue with a Confluent-compatible Schema Registry (Confluent, Karapace, ...).

``sync_to_confluent`` registers every local subject version, oldest first, under
a subject naming strategy and returns a registry that uses the central ids, so
what the bus carries is readable by any Confluent deserializer. The client is
injected (``SchemaRegistryClient``, or ``SchemaRegistryClient.new_client({"url":
"mock://..."})`` in tests); confluent-kafka is imported only when a schema is
sent or looked up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from martech_bus.errors import (
    ConfigError,
    IncompatibleSchemaError,
    Location,
    MartechBusError,
    SchemaError,
    TransientError,
    UnknownSchemaError,
)
from martech_bus.schema.avro import as_schema_json

if TYPE_CHECKING:
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

INSTALL_HINT = "pip install 'martech-bus[kafka]'"


class RegistryClient(Protocol):
    """The part of ``confluent_kafka.schema_registry.SchemaRegistryClient`` used here."""

    def register_schema(self, subject_name: str, schema: Any) -> int: ...

    def lookup_schema(self, subject_name: str, schema: Any) -> Any: ...


def record_subject(entry: RegisteredSchema) -> str:
    """Record name strategy: the subject is the record's full name."""
    return entry.record_name


def topic_subject(topic: str) -> str:
    """Topic name strategy: ``<topic>-value``."""
    return f"{topic}-value"


def topic_record_subject(topic: str, entry: RegisteredSchema) -> str:
    """Topic-record name strategy: ``<topic>-<record full name>``."""
    return f"{topic}-{entry.record_name}"


def schema_text(schema: Any) -> str:
    """The schema string sent to the central registry (lookups must send the same text)."""
    return json.dumps(as_schema_json(schema), separators=(",", ":"))


def sync_to_confluent(
    registry: SchemaRegistry,
    client: RegistryClient,
    *,
    subject_name: Callable[[RegisteredSchema], str] = record_subject,
    register: bool = True,
) -> SchemaRegistry:
    """Register every local version (oldest first) and return ``registry`` with the central ids.

    ``register=False`` only looks the schemas up, for producers that may not
    register (``auto.register.schemas=false``); a missing one is an UnknownSchemaError.
    """
    send = _register if register else _lookup
    ids: dict[tuple[str, int], int] = {}
    for subject in registry.subjects():
        for entry in registry.versions(subject):
            central = subject_name(entry)
            where = Location(schema=entry.subject, version=entry.version)
            ids[(entry.subject, entry.version)] = send(client, central, entry.schema, where)
    return registry.with_ids(ids)


def lookup_id(client: RegistryClient, subject: str, schema: Any) -> int:
    """The central id of ``schema`` (decoded JSON or JSON text) under ``subject``."""
    return _lookup(client, subject, schema, Location(schema=subject))


def _register(client: RegistryClient, subject: str, schema: Any, where: Location) -> int:
    sent = _confluent_schema(schema)
    try:
        return int(client.register_schema(subject, sent))
    except Exception as exc:
        error = _translate(exc, f"registering under {subject!r}", where)
        if error is None:
            raise
        raise error from exc


def _lookup(client: RegistryClient, subject: str, schema: Any, where: Location) -> int:
    sent = _confluent_schema(schema)
    try:
        return int(client.lookup_schema(subject, sent).schema_id)
    except Exception as exc:
        error = _translate(exc, f"looking up under {subject!r}", where)
        if error is None:
            raise
        raise error from exc


def _confluent_schema(schema: Any) -> Any:
    try:
        from confluent_kafka.schema_registry import Schema
    except ImportError:
        raise ConfigError(
            f"syncing with a schema registry needs confluent-kafka: {INSTALL_HINT}"
        ) from None
    return Schema(schema_text(schema), "AVRO")


def _translate(exc: Exception, doing: str, where: Location) -> MartechBusError | None:
    """The martech-bus error for what the registry client raised; None: let it through."""
    status = getattr(exc, "http_status_code", None)
    if status is None:
        # The client speaks HTTP through httpx (vendored under another name in some
        # builds): recognise its network errors by class name rather than by import.
        names = {cls.__name__ for cls in type(exc).__mro__}
        if names & {"TransportError", "TimeoutException"}:
            return TransientError(
                f"schema registry unreachable while {doing}: {exc}", location=where
            )
        return None
    message = f"schema registry refused {doing}: {getattr(exc, 'error_message', exc)}"
    detail = f"{message} (HTTP {status}, code {getattr(exc, 'error_code', '?')})"
    if status == 404:
        return UnknownSchemaError(detail, location=where)
    if status == 409:
        return IncompatibleSchemaError(detail, location=where)
    if status in (401, 403):
        return ConfigError(f"{detail}; check the registry credentials", location=where)
    if status in (408, 429) or status >= 500:
        return TransientError(detail, location=where)
    return SchemaError(detail, location=where)


__all__ = [
    "INSTALL_HINT",
    "RegistryClient",
    "lookup_id",
    "record_subject",
    "schema_text",
    "sync_to_confluent",
    "topic_record_subject",
    "topic_subject",
]
