"""Sync with a Confluent-compatible registry, and confluent-kafka as an independent reader/writer."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import (
    SchemaRegistryClient,
    SchemaRegistryError,
    record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from martech_bus.errors import (
    ConfigError,
    IncompatibleSchemaError,
    SchemaError,
    TransientError,
    UnknownSchemaError,
)
from martech_bus.schema.codec import AvroCodec, decode_wire
from martech_bus.schema.confluent import (
    lookup_id,
    record_subject,
    schema_text,
    sync_to_confluent,
    topic_record_subject,
    topic_subject,
)
from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry
from martech_bus.schema.validate import validator_for
from tests.schema.events import catalogue, order_completed_json, sample_event

TOPIC = "martech.events"
ORDER = "martech.events.OrderCompleted"
CONTEXT = SerializationContext(TOPIC, MessageField.VALUE)


def mock_client() -> Any:
    return SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4()}"})


def synced() -> tuple[Any, SchemaRegistry]:
    client = mock_client()
    return client, sync_to_confluent(catalogue(), client)


def order_datum() -> dict[str, Any]:
    return validator_for(catalogue().get("order_completed")).validate(order_completed_json())


def as_datum_form(value: Any) -> Any:
    """confluent-kafka decodes uuid to uuid.UUID (fastavro); datum form keeps the string."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: as_datum_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_datum_form(v) for v in value]
    return value


# -- naming and sync ---------------------------------------------------------------------------


def test_subject_naming_strategies() -> None:
    entry = catalogue().get("order_completed")

    assert record_subject(entry) == ORDER
    assert topic_subject(TOPIC) == "martech.events-value"
    assert topic_record_subject(TOPIC, entry) == f"{TOPIC}-{ORDER}"


def test_sync_registers_every_version_oldest_first_under_the_record_name() -> None:
    client, _ = synced()

    assert sorted(client.get_subjects()) == sorted({e.record_name for e in catalogue()})
    assert sorted(client.get_versions(ORDER)) == [1, 2]
    for version in (1, 2):
        local = schema_text(catalogue().get("order_completed", version).schema)
        assert client.get_version(ORDER, version).schema.schema_str == local


def test_sync_returns_the_registry_with_the_central_ids() -> None:
    client, registry = synced()

    for entry in registry:
        assert entry.schema_id == client.lookup_schema(entry.record_name, _schema(entry)).schema_id
    assert [(e.subject, e.version) for e in registry] == [
        (e.subject, e.version) for e in catalogue()
    ]


def test_sync_is_idempotent() -> None:
    client, first = synced()
    second = sync_to_confluent(catalogue(), client)

    assert [e.schema_id for e in second] == [e.schema_id for e in first]


def test_sync_can_use_the_topic_strategy() -> None:
    client = mock_client()
    sync_to_confluent(
        catalogue(), client, subject_name=lambda e: topic_subject(f"events.{e.subject}")
    )

    assert "events.order_completed-value" in client.get_subjects()


def test_sync_without_registering_only_looks_the_schemas_up() -> None:
    client = mock_client()
    with pytest.raises(UnknownSchemaError) as caught:
        sync_to_confluent(catalogue(), client, register=False)
    assert caught.value.location.schema == "checkout_started"

    registered = sync_to_confluent(catalogue(), client)
    looked_up = sync_to_confluent(catalogue(), client, register=False)
    assert [e.schema_id for e in looked_up] == [e.schema_id for e in registered]


def test_lookup_id_finds_a_registered_schema() -> None:
    client, registry = synced()
    entry = registry.get("order_completed", 1)

    assert lookup_id(client, ORDER, entry.schema) == entry.schema_id


def test_lookup_id_of_an_unregistered_schema_is_an_unknown_schema_error() -> None:
    with pytest.raises(UnknownSchemaError, match="looking up under 'nope'"):
        lookup_id(mock_client(), "nope", catalogue().get("page_viewed").schema)


# -- independent readers and writers -----------------------------------------------------------


@pytest.mark.parametrize("entry", list(catalogue()), ids=lambda e: f"{e.subject}-v{e.version}")
def test_confluent_deserializer_reads_what_our_codec_writes(entry: RegisteredSchema) -> None:
    client, registry = synced()
    datum = sample_event(entry)
    frame = AvroCodec(registry).encode(datum, entry.subject, entry.version)

    assert as_datum_form(AvroDeserializer(client)(frame, CONTEXT)) == datum


def test_confluent_deserializer_reads_a_full_order_with_decimals_timestamps_and_uuid() -> None:
    client, registry = synced()
    datum = order_datum()
    decoded = AvroDeserializer(client)(
        AvroCodec(registry).encode(datum, "order_completed"), CONTEXT
    )

    assert decoded["event_id"] == uuid.UUID(datum["event_id"])
    assert decoded["occurred_at"] == datum["occurred_at"]
    assert decoded["properties"]["total"] == datum["properties"]["total"]
    assert as_datum_form(decoded) == datum


def test_our_codec_reads_what_the_confluent_serializer_writes() -> None:
    client, registry = synced()
    serialize = AvroSerializer(
        client,
        schema_text(registry.get("order_completed").schema),
        conf={
            "auto.register.schemas": False,
            "subject.name.strategy": record_subject_name_strategy,
        },
    )
    frame = serialize(order_datum(), CONTEXT)

    assert decode_wire(frame)[0] == registry.get("order_completed").schema_id
    assert AvroCodec(registry).decode(frame) == (registry.get("order_completed"), order_datum())
    assert frame == AvroCodec(registry).encode(order_datum(), "order_completed")


# -- errors ------------------------------------------------------------------------------------


class TransportError(Exception):
    """Stands in for httpx's network error base class (matched by name)."""


class ConnectError(TransportError):
    pass


class FailingClient:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def register_schema(self, subject_name: str, schema: Any) -> int:
        raise self.error

    def lookup_schema(self, subject_name: str, schema: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            SchemaRegistryError(409, 409, "Schema being registered is incompatible"),
            IncompatibleSchemaError,
        ),
        (SchemaRegistryError(404, 40401, "Subject not found"), UnknownSchemaError),
        (SchemaRegistryError(422, 42201, "Invalid schema"), SchemaError),
        (SchemaRegistryError(401, 401, "Unauthorized"), ConfigError),
        (SchemaRegistryError(503, 50003, "Error while forwarding the request"), TransientError),
        (ConnectError("connection refused"), TransientError),
    ],
    ids=["409", "404", "422", "401", "503", "network"],
)
def test_registry_errors_become_martech_bus_errors(
    error: Exception, expected: type[Exception]
) -> None:
    with pytest.raises(expected) as caught:
        sync_to_confluent(catalogue(), FailingClient(error))

    assert caught.value.location.schema == "checkout_started"  # type: ignore[attr-defined]
    assert "martech.events.CheckoutStarted" in str(caught.value)
    assert caught.value.__cause__ is error


def test_other_client_errors_pass_through_untouched() -> None:
    error = RuntimeError("bug")
    with pytest.raises(RuntimeError) as caught:
        sync_to_confluent(catalogue(), FailingClient(error))

    assert caught.value is error and error.__cause__ is None


def test_a_missing_confluent_kafka_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "confluent_kafka.schema_registry", None)

    with pytest.raises(ConfigError, match=r"pip install 'martech-bus\[kafka\]'") as caught:
        sync_to_confluent(catalogue(), mock_client())
    assert caught.value.__cause__ is None


def _schema(entry: RegisteredSchema) -> Any:
    from confluent_kafka.schema_registry import Schema

    return Schema(schema_text(entry.schema), "AVRO")
