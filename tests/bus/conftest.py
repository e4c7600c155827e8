"""Bus fixtures: the session Kafka (as in tests/kafka), the catalogue, per-test topic names."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from martech_bus.bus.publisher import BusPublisher
from martech_bus.bus.topics import BusConfig
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.kafka import KafkaSink
from tests.bus.helpers import QUIET

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "events" / "order_completed.json"


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(ROOT / "schemas")


@pytest.fixture
def bus_config() -> BusConfig:
    """The default convention under a prefix no other test uses (the session broker is shared)."""
    return BusConfig(topic_pattern=f"t{uuid.uuid4().hex[:10]}.{{event}}.v{{major}}")


@pytest.fixture
def order() -> Callable[..., dict[str, Any]]:
    """A valid order_completed v2 event (JSON form) with a fresh event_id; kwargs override fields."""
    template = json.loads(EXAMPLE.read_text(encoding="utf-8"))

    def make(**fields: Any) -> dict[str, Any]:
        event = copy.deepcopy(template)
        event["event_id"] = str(uuid.uuid4())
        event.update(fields)
        return event

    return make


@pytest.fixture
def make_publisher(
    registry: SchemaRegistry,
    bus_config: BusConfig,
    kafka_bootstrap: str,
) -> Iterator[Callable[..., BusPublisher]]:
    """Publishers on the session broker (closed after the test); kwargs go to KafkaSink."""
    made: list[BusPublisher] = []

    def make(
        *,
        bootstrap: str | None = None,
        reg: SchemaRegistry | None = None,
        producer_config: dict[str, Any] | None = None,
        **sink_options: Any,
    ) -> BusPublisher:
        sink = KafkaSink(
            {"logger": QUIET, **(producer_config or {})},
            bootstrap=bootstrap or kafka_bootstrap,
            **sink_options,
        )
        publisher = BusPublisher(reg or registry, sink, config=bus_config)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.close(timeout=5)
