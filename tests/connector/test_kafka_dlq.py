"""The Kafka dead-letter producer: Connect's headers, backpressure, acknowledged or raised."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.errors import CodecError, TransientError
from martech_bus.sinks.kafka_dlq import (
    FailedRecord,
    KafkaDeadLetterError,
    KafkaDeadLetterProducer,
    Stage,
    connect_error_headers,
)

RECORD = FailedRecord("orders", 2, 41, b"user-1", b"\x07junk", (("ce_id", b"e-1"),))


class Producer:
    """A confluent-kafka Producer's surface: queue full on demand, reports at poll/flush."""

    def __init__(self, *, full_for: int = 0, fail_with: str | None = None, stuck: int = 0) -> None:
        self.full_for = full_for
        self.fail_with = fail_with
        self.stuck = stuck
        self.queued: list[dict[str, Any]] = []
        self.written: list[dict[str, Any]] = []
        self.polls = 0

    def produce(self, topic: str, **kwargs: Any) -> None:
        if self.full_for:
            self.full_for -= 1
            raise BufferError("Local: Queue full")
        self.queued.append({"topic": topic, **kwargs})

    def poll(self, timeout: float = 0) -> int:
        self.polls += 1
        return 0

    def flush(self, timeout: float = 0) -> int:
        for item in self.queued:
            item["on_delivery"](self.fail_with, None)
            if self.fail_with is None:
                self.written.append(item)
        self.queued.clear()
        return self.stuck


def error() -> CodecError:
    try:
        raise CodecError("wrong magic byte 0x07 (expected 0x00): not Confluent wire format")
    except CodecError as exc:
        return exc


def test_the_headers_are_kafka_connects() -> None:
    headers = dict(
        connect_error_headers(
            RECORD,
            error(),
            connector_name="c",
            task_id="3",
            stage=Stage.VALUE_CONVERTER,
            class_name="x.Y",
        )
    )
    assert {
        name: value.decode()
        for name, value in headers.items()
        if value and name != "__connect.errors.exception.stacktrace"
    } == {
        "__connect.errors.topic": "orders",
        "__connect.errors.partition": "2",
        "__connect.errors.offset": "41",
        "__connect.errors.connector.name": "c",
        "__connect.errors.task.id": "3",
        "__connect.errors.stage": "VALUE_CONVERTER",
        "__connect.errors.class.name": "x.Y",
        "__connect.errors.exception.class.name": "martech_bus.errors.CodecError",
        "__connect.errors.exception.message": "wrong magic byte 0x07 (expected 0x00): not Confluent wire format",
    }
    trace = headers["__connect.errors.exception.stacktrace"]
    assert trace is not None and b"Traceback" in trace and b"CodecError" in trace


def test_raw_bytes_and_original_headers_are_kept_and_a_full_queue_is_waited_out() -> None:
    producer = Producer(full_for=2)
    dlq = KafkaDeadLetterProducer(producer, "dlq", connector_name="c")

    dlq.send_many([(RECORD, error())], class_name="x.Y")

    (written,) = producer.written
    assert (written["topic"], written["key"], written["value"]) == ("dlq", b"user-1", b"\x07junk")
    assert written["headers"][0] == ("ce_id", b"e-1")
    assert producer.polls == 2  # BufferError: serve delivery reports, then try again


@pytest.mark.parametrize(
    ("producer", "problem"),
    [
        (Producer(fail_with="Broker: Not enough in-sync replicas"), "1 failed"),
        (Producer(stuck=1), "1 still queued"),
    ],
)
def test_an_unacknowledged_dead_letter_raises_a_transient_error(
    producer: Producer, problem: str
) -> None:
    dlq = KafkaDeadLetterProducer(producer, "dlq", connector_name="c", flush_timeout=0.1)
    with pytest.raises(KafkaDeadLetterError, match=problem) as raised:
        dlq.send_many([(RECORD, error())], class_name="x.Y")
    assert isinstance(raised.value, TransientError)
