"""Helpers for the connector tests: canonical events on the bus, a vendor stub, bounded waits."""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

from martech_bus.connector.decoding import topic_for
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from martech_bus.testing.kafka import create_topics
from martech_bus.testing.vendor import stub_adapters

ROOT = Path(__file__).resolve().parents[2]
PIXEL = "1234567890"
#: The tansu quirk: a group join takes about session.timeout.ms / 2.
CONSUMER = {"session.timeout.ms": 6000}
QUIET = logging.getLogger("tests.connector.librdkafka")
_TEMPLATE: dict[str, Any] = json.loads(
    (ROOT / "examples" / "events" / "order_completed.json").read_text(encoding="utf-8")
)


def order(n: int, version: int = 2) -> dict[str, Any]:
    """The example order_completed event, numbered, as written by schema ``version``."""
    event = copy.deepcopy(_TEMPLATE)
    event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
    event["user_id"] = f"user-{n}"
    event["schema_version"] = version
    event["properties"]["order_id"] = f"ORD-{n}"
    if version == 1:  # v2 added shipping_method
        del event["properties"]["shipping_method"]
    return event


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` every 20 ms until it is truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Bus:
    """Topics under a per-test prefix on the session broker, and a producer that writes frames."""

    bootstrap: str
    prefix: str
    registry: SchemaRegistry
    codec: AvroCodec = field(init=False)

    def __post_init__(self) -> None:
        self.codec = AvroCodec(self.registry)
        from confluent_kafka import Producer

        self.producer = Producer({"bootstrap.servers": self.bootstrap, "logger": QUIET})

    def topic(self, subject: str, version: int | None = None) -> str:
        return self.prefix + topic_for(self.registry.get(subject, version))

    def create(
        self, subjects: Iterable[str], partitions: int = 3, extra: Iterable[str] = ()
    ) -> None:
        names = {self.topic(subject) for subject in subjects} | set(extra)
        create_topics(self.bootstrap, sorted(names), partitions=partitions)

    def publish(self, events: Iterable[dict[str, Any]]) -> list[tuple[str, int, int]]:
        """Validate, encode with each event's schema version, produce; (topic, partition, offset)."""
        frames = []
        for event in events:
            entry, datum = validate_event(self.registry, event)
            key = datum["user_id"] or datum["anonymous_id"]
            value = self.codec.encode(datum, entry.subject, entry.version)
            frames.append((self.topic(entry.subject, entry.version), key.encode(), value))
        return self.produce(frames)

    def produce(self, frames: Iterable[tuple[Any, ...]]) -> list[tuple[str, int, int]]:
        """Produce raw (topic, key, value[, headers]) records; returns where each landed, in order."""
        placed: list[tuple[str, int, int] | None] = []
        for index, (topic, key, value, *headers) in enumerate(frames):
            placed.append(None)

            def report(error: Any, message: Any, index: int = index) -> None:
                assert error is None, error
                placed[index] = (message.topic(), message.partition(), message.offset())

            self.producer.produce(
                topic, value, key=key, headers=headers[0] if headers else None, on_delivery=report
            )
        assert self.producer.flush(30) == 0
        assert all(place is not None for place in placed)
        return [place for place in placed if place is not None]

    def committed(self, group: str, topic: str, partitions: int = 3) -> dict[int, int]:
        """The group's committed offset per partition of ``topic`` (-1001 when none)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(
            {"bootstrap.servers": self.bootstrap, "group.id": group, "logger": QUIET}
        )
        try:
            found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], 10)
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in found}


class Vendor:
    """Meta's events endpoint: records the event ids it accepts; can fail requests on demand."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.requests = 0
        self.down = False  # answer 503 while True
        self.fail_next = 0  # answer 503 to this many more requests
        self.status = 200  # answer this (a 4xx: a terminal error) when not failing

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests += 1
            if self.down or self.fail_next > 0:
                self.fail_next = max(self.fail_next - 1, 0)
                return Response(json.dumps({"error": {"message": "down"}}), 503)
            if self.status != 200:
                return Response(json.dumps({"error": {"message": "bad request"}}), self.status)
            body = json.loads(request.data)
            self.bodies.extend(body["data"])
            self.accepted.extend(item["event_id"] for item in body["data"])
            return Response(
                json.dumps({"events_received": len(body["data"])}),
                200,
                content_type="application/json",
            )

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.accepted)

    def distinct(self) -> int:
        with self.lock:
            return len(set(self.accepted))


def per_partition(placed: Iterable[tuple[str, int, int]], topic: str) -> dict[int, int]:
    """How many records landed in each of the 3 partitions of ``topic``: the offsets to commit."""
    counts = Counter(partition for where, partition, _ in placed if where == topic)
    return {p: counts[p] if counts[p] else -1001 for p in range(3)}


class Threads:
    """Connectors running in threads; errors are collected; all are stopped on exit, even a failing one."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._running: list[tuple[threading.Event, threading.Thread]] = []

    def start(self, connector: Any) -> None:
        stop = threading.Event()

        def target() -> None:
            try:
                connector.run(stop)
            except BaseException as exc:  # reported by the test, not lost in the thread
                self.errors.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._running.append((stop, thread))

    def stop(self) -> None:
        for stop, _ in self._running:
            stop.set()
        for _, thread in self._running:
            thread.join(30)
            assert not thread.is_alive(), "a connector did not stop within 30 s"
        self._running.clear()

    def __enter__(self) -> Threads:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def meta_capi_on_stub(tmp_path: Path, base_url: str) -> tuple[Path, dict[str, str]]:
    """The meta_capi adapter pointed at ``base_url``, and the settings for SQLite stores under ``tmp_path``."""
    adapters = stub_adapters(
        ROOT / "adapters", tmp_path / "adapters", base_url, names=["meta_capi"]
    )
    settings = {
        "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
        "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
        "MARTECH_BUS_DLQ": f"sqlite:{tmp_path / 'dlq.sqlite3'}",
        "MARTECH_BUS_IDEMPOTENCY": f"sqlite:{tmp_path / 'idempotency.sqlite3'}",
        "META_PIXEL_ID": PIXEL,
        "META_ACCESS_TOKEN": "EAAB-not-a-real-token",
    }
    return adapters, settings
