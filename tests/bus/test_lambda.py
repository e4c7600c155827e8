"""``publisher.flush`` as the Lambda handler's flush hook; what the bus modules import."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from martech_bus.aws import FlushError, make_handler
from martech_bus.bus.publisher import BusFlushError, BusPublisher
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.kafka import KafkaSink
from tests.aws.events import sqs_event
from tests.bus.helpers import FakeFactory


class PublishingPipeline:
    """The marathon route in miniature: enqueue on the bus, leave the waiting to flush."""

    def __init__(self, publisher: BusPublisher) -> None:
        self.publisher = publisher

    def process(self, events: Iterable[Any]) -> list[EventResult]:
        batch = list(events)
        self.publisher.publish(batch, wait=False)
        return [EventResult(e["event_id"], EventStatus.DELIVERED) for e in batch]


def handler_for(registry: SchemaRegistry, mode: str) -> Callable[..., Any]:
    sink = KafkaSink(bootstrap="fake:9092", producer_factory=FakeFactory(mode))
    publisher = BusPublisher(registry, sink)
    pipeline = PublishingPipeline(publisher)
    return make_handler(lambda _: pipeline, flush=publisher.flush)


def test_a_lambda_invocation_fails_when_the_bus_left_an_event_unconfirmed(
    registry: SchemaRegistry, order: Callable[..., dict[str, Any]]
) -> None:
    handler = handler_for(registry, "fail:_MSG_TIMED_OUT")

    with pytest.raises(FlushError) as caught:
        handler(sqs_event(order()), None)

    assert isinstance(caught.value.__cause__, BusFlushError)


def test_a_lambda_invocation_succeeds_when_the_bus_confirmed_everything(
    registry: SchemaRegistry, order: Callable[..., dict[str, Any]]
) -> None:
    handler = handler_for(registry, "deliver")

    response = handler(sqs_event(order(), order()), None)

    assert response == {"batchItemFailures": []}


def test_the_kafka_sink_imports_neither_schema_mapping_nor_confluent_kafka() -> None:
    probe = (
        "import sys, martech_bus.sinks.kafka, martech_bus.bus; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'confluent_kafka' "
        "or m.startswith(('martech_bus.schema', 'martech_bus.mapping'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"
