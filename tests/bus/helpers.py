"""Independent readers (kafka-python; confluent-kafka's AvroDeserializer) and a fake producer."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from martech_bus.testing.kafka import ConsumedRecord

# librdkafka logs every refused connection; keep it out of the test output.
QUIET = logging.getLogger("tests.bus.librdkafka")


def header(record: ConsumedRecord, name: str) -> bytes | None:
    """The value of header ``name`` (the last one, like Kafka's lastHeader)."""
    found = [value for key, value in record.headers if key == name]
    return found[-1] if found else None


def read_until(
    bootstrap: str,
    topic: str,
    wanted: Callable[[list[ConsumedRecord]], bool],
    timeout: float = 30.0,
) -> list[ConsumedRecord]:
    """Read ``topic`` from the beginning with kafka-python until ``wanted(records)`` holds.

    Unlike ``consume_all`` (which stops at a count), this suits topics that may hold
    duplicates. ``TimeoutError`` with what was read when the deadline passes.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(timeout * 1000) + 5000,
        )
    deadline = time.monotonic() + timeout
    records: list[ConsumedRecord] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic!r} did not appear within {timeout:g}s")
            time.sleep(0.1)
            consumer.topics()
            partitions = consumer.partitions_for_topic(topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        while not wanted(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"read {len(records)} records from {topic!r}; not enough")
            batch = consumer.poll(timeout_ms=int(min(remaining, 1.0) * 1000))
            for messages in batch.values():
                records.extend(
                    ConsumedRecord(
                        m.topic,
                        m.partition,
                        m.offset,
                        m.key,
                        m.value,
                        tuple((k, v) for k, v in (m.headers or [])),
                        m.timestamp,
                    )
                    for m in messages
                )
    finally:
        consumer.close()
    return records


def event_ids(records: Iterable[ConsumedRecord]) -> list[str]:
    """The ``ce_id`` header of each record."""
    return [(header(r, "ce_id") or b"").decode() for r in records]


# --------------------------------------------------------------------------- a fake producer


class FakeError:
    """Quacks like confluent_kafka.KafkaError."""

    def __init__(self, name: str, *, fatal: bool = False) -> None:
        self._name = name
        self._fatal = fatal

    def name(self) -> str:
        return self._name

    def str(self) -> str:
        return f"fake {self._name}"

    def fatal(self) -> bool:
        return self._fatal

    def code(self) -> int:
        return -1


class FakeKafkaError(Exception):
    """Named like confluent_kafka.KafkaException, which is how the sink recognises it."""


FakeKafkaError.__name__ = "KafkaException"


class FakeRecord:
    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


@dataclass
class FakeProducer:
    """Holds produced messages until told what to report; ``mode`` says what poll/flush do.

    ``deliver``: report success; ``hold``: report nothing (a wedged producer);
    ``fail:<NAME>``: report that error. ``queue_limit`` makes produce raise BufferError.
    """

    config: dict[str, Any]
    mode: str = "deliver"
    queue_limit: int | None = None
    queued: list[tuple[Any, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # every record produced
    purged: bool = False
    offset: int = 0

    def produce(self, topic: str, value: Any = None, key: Any = None, **kwargs: Any) -> None:
        if self.queue_limit is not None and len(self.queued) >= self.queue_limit:
            raise BufferError("Local: Queue full")
        self.queued.append((key, kwargs["on_delivery"]))
        self.sent.append({"topic": topic, "value": value, "key": key, **kwargs})

    def poll(self, timeout: float = 0) -> int:
        if self.mode == "hold":
            return 0
        served, self.queued = self.queued, []
        for _, report in served:
            if self.mode == "deliver":
                report(None, FakeRecord(0, self.offset))
                self.offset += 1
            else:
                report(FakeError(self.mode.split(":", 1)[1]), None)
        return len(served)

    def flush(self, timeout: float = 0) -> int:
        self.poll(timeout)
        return len(self.queued)

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        self.purged = True

    def __len__(self) -> int:
        return len(self.queued)


class FakeFactory:
    """A producer factory remembering what it made; ``modes`` gives each new producer's mode."""

    def __init__(self, *modes: str, queue_limit: int | None = None) -> None:
        self.modes = list(modes)
        self.queue_limit = queue_limit
        self.made: list[FakeProducer] = []

    def __call__(self, config: dict[str, Any]) -> FakeProducer:
        mode = self.modes.pop(0) if self.modes else "deliver"
        producer = FakeProducer(config, mode, self.queue_limit)
        self.made.append(producer)
        return producer


class Clock:
    """A monotonic clock that moves only when told (or by ``step`` per reading)."""

    def __init__(self, step: float = 0.0) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now
