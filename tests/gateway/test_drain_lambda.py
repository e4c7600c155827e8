"""The serverless drainer: SQS buffer records in a Lambda event -> the pipeline -> a partial batch response.

The records are real: the gateway's SQS buffer writes them to moto's SQS, and
they are read back as Lambda's event source mapping delivers them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from martech_bus.buffer.sqs import SqsBufferStore
from martech_bus.gateway.drain_lambda import drainer_handler
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.gateway.sources import CANONICAL, find_sources
from martech_bus.integration import Runtime
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.sinks.base import Outcome, OutcomeKind
from martech_bus.testing.aws import AwsEndpoint
from martech_bus.testing.sinks import RecordingSink
from tests.gateway.helpers import ROOT, SCHEMAS, SOURCES, order


@pytest.fixture
def queue(aws: AwsEndpoint) -> tuple[Any, str]:
    client = aws.client("sqs")
    return client, client.create_queue(QueueName="gateway-buffer")["QueueUrl"]


def lambda_event(client: Any, url: str) -> dict[str, Any]:
    """What an SQS event source mapping hands the function: the received messages, camelCased."""
    received = client.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    ).get("Messages", [])
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {"stringValue": a["StringValue"], "dataType": a["DataType"]}
                    for name, a in m.get("MessageAttributes", {}).items()
                },
                "eventSource": "aws:sqs",
            }
            for m in received
        ]
    }


class Unconfirmed:
    """A bus that confirms nothing (the broker is down)."""

    def deliver(self, deliveries: Any) -> list[Outcome]:
        return [Outcome(d.event_id, OutcomeKind.RETRY_LATER, "broker down") for d in deliveries]


def runtime_with(sink: Any) -> Runtime:
    """A runtime on memory stores whose vendor routes deliver to ``sink``."""
    runtime = Runtime(
        schemas_dir=SCHEMAS,
        adapters_dir=ROOT / "adapters",
        dlq="memory",
        idempotency_setting="memory",
        flags_setting="memory",
    )
    original = runtime.pipeline

    def pipeline(adapters: Any, **kwargs: Any) -> Any:
        return original(adapters, sinks=lambda adapter: sink, **kwargs)

    runtime.pipeline = pipeline  # type: ignore[method-assign]
    return runtime


def handler_with(
    sink: RecordingSink,
    quarantine: MemoryQuarantineStore,
    runtime: Runtime | None = None,
    **options: Any,
) -> Any:
    return drainer_handler(
        "amplitude",
        runtime=runtime or runtime_with(sink),
        sources=find_sources(SOURCES),
        quarantine=quarantine,
        emf=False,
        **options,
    )


def test_buffered_events_are_delivered_and_the_batch_reports_no_failure(
    queue: tuple[Any, str],
) -> None:
    client, url = queue
    buffer = SqsBufferStore(url, client=client, receive_wait_seconds=0)
    events = [order(), order()]
    buffer.append_one(CANONICAL, json.dumps(events).encode())
    sink = RecordingSink()

    answer = handler_with(sink, MemoryQuarantineStore())(lambda_event(client, url), None)

    assert answer == {"batchItemFailures": []}
    assert sorted(sink.accepted_event_ids) == sorted(e["event_id"] for e in events)


def test_a_vendor_failure_that_outlasts_its_retries_is_dead_lettered_and_the_record_done(
    queue: tuple[Any, str],
) -> None:
    client, url = queue
    buffer = SqsBufferStore(url, client=client, receive_wait_seconds=0)
    event_body = order()
    buffer.append_one(CANONICAL, json.dumps(event_body).encode())
    sink = RecordingSink(answer=lambda d: Outcome(d.event_id, OutcomeKind.RETRY_LATER, "down"))
    runtime = runtime_with(sink)

    answer = handler_with(sink, MemoryQuarantineStore(), runtime)(lambda_event(client, url), None)

    assert answer == {
        "batchItemFailures": []
    }  # the request was answered long ago: kept, not retried
    (letter,) = runtime.dead_letters.list()
    assert letter.event_id == event_body["event_id"]


def test_a_message_the_buffer_did_not_write_is_quarantined_not_dropped(
    queue: tuple[Any, str],
) -> None:
    client, url = queue
    client.send_message(QueueUrl=url, MessageBody="not a buffer record")
    quarantine = MemoryQuarantineStore()

    answer = handler_with(RecordingSink(), quarantine)(lambda_event(client, url), None)

    assert answer == {"batchItemFailures": []}
    (item,) = quarantine.list()
    assert "not a buffer record" in item.reason


def test_a_record_received_too_often_is_quarantined_as_poison(queue: tuple[Any, str]) -> None:
    client, url = queue
    buffer = SqsBufferStore(url, client=client, receive_wait_seconds=0)
    buffer.append_one(CANONICAL, json.dumps(order()).encode())
    event = lambda_event(client, url)
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = "9"
    quarantine = MemoryQuarantineStore()
    sink = RecordingSink()

    handler_with(sink, quarantine, max_attempts=5)(event, None)

    assert sink.accepted == []
    (item,) = quarantine.list()
    assert "received 9 times" in item.reason


def test_a_publish_the_bus_did_not_confirm_comes_back_from_the_queue(
    queue: tuple[Any, str],
) -> None:
    client, url = queue
    buffer = SqsBufferStore(url, client=client, receive_wait_seconds=0)
    buffer.append_one(CANONICAL, json.dumps(order()).encode())
    event = lambda_event(client, url)
    vendor = RecordingSink()
    runtime = runtime_with(vendor)
    # amplitude goes over the bus, whose publish is not confirmed.
    runtime.flags.set("amplitude", Setting(RouteMode.BUS), reason="test", who="test")
    runtime.__dict__["bus_sink"] = Unconfirmed()
    handler = handler_with(vendor, MemoryQuarantineStore(), runtime)

    answer = handler(event, None)

    (failure,) = answer["batchItemFailures"]
    assert failure["itemIdentifier"] == event["Records"][0]["messageId"]
    assert vendor.accepted == []
