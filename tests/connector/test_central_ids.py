"""With a central schema registry configured, the connector decodes records framed with its ids."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.bus.publisher import central_ids
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from tests.connector.conftest import World
from tests.connector.fakes import FakeConsumer
from tests.connector.helpers import Vendor, order
from tests.connector.test_connector_logic import P0, connector_on


@pytest.fixture
def central(registry: SchemaRegistry, monkeypatch: pytest.MonkeyPatch) -> Any:
    """One confluent-kafka mock registry shared by the publisher side and the connector."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    client = SchemaRegistryClient.new_client({"url": "mock://central"})
    monkeypatch.setattr("martech_bus.bus.publisher.registry_client", lambda url: client)
    return client


def framed_with_central_ids(registry: SchemaRegistry, client: Any, n: int) -> bytes:
    synced = central_ids(registry, client=client)
    entry, datum = validate_event(synced, order(n))
    return AvroCodec(synced).encode(datum, entry.subject, entry.version)


def test_records_framed_with_central_ids_are_decoded_when_the_registry_is_configured(
    offline: World,
    vendor: Vendor,
    registry: SchemaRegistry,
    central: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeConsumer()
    fake.append(*P0, framed_with_central_ids(registry, central, 0))
    monkeypatch.setenv("MARTECH_BUS_SCHEMA_REGISTRY_URL", "mock://central")
    stats = connector_on(offline, fake).run(max_messages=1)
    assert stats.delivered == 1 and stats.undecodable == 0
    assert vendor.distinct() == 1


def test_without_the_registry_setting_such_records_are_dead_lettered_as_undecodable(
    offline: World, vendor: Vendor, registry: SchemaRegistry, central: Any
) -> None:
    fake = FakeConsumer()
    fake.append(*P0, framed_with_central_ids(registry, central, 0))
    stats = connector_on(offline, fake).run(max_messages=1)
    assert stats.undecodable == 1 and vendor.requests == 0
