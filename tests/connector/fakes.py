"""A scripted in-memory consumer for the connector's logic tests (no broker, no group join).

It behaves like librdkafka where the connector depends on it: a paused partition
returns nothing until resumed (fetching then continues after the last record
returned), commits are recorded, and a rebalance revokes everything and re-reads
each partition from its committed offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import TopicPartition


@dataclass
class FakeMessage:
    """The parts of a confluent-kafka ``Message`` the connector reads."""

    _topic: str
    _partition: int
    _offset: int
    _value: bytes | None
    _key: bytes | None = None
    _headers: list[tuple[str, bytes]] | None = None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes | None:
        return self._value

    def key(self) -> bytes | None:
        return self._key

    def headers(self) -> list[tuple[str, bytes]] | None:
        return self._headers

    def error(self) -> None:
        return None


@dataclass
class FakeConsumer:
    """Holds a log per partition; hands records out in offset order, like a single-member group."""

    log: dict[tuple[str, int], list[FakeMessage]] = field(default_factory=dict)
    paused: set[tuple[str, int]] = field(default_factory=set)
    committed: dict[tuple[str, int], int] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    rebalance_next: bool = False
    closed: bool = False
    _next: dict[tuple[str, int], int] = field(default_factory=dict)
    _callbacks: dict[str, Callable[..., None]] = field(default_factory=dict)
    _assigned: bool = False

    def append(self, topic: str, partition: int, value: bytes | None) -> FakeMessage:
        records = self.log.setdefault((topic, partition), [])
        message = FakeMessage(topic, partition, len(records), value)
        records.append(message)
        return message

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self._callbacks = callbacks
        self.calls.append(("subscribe", topics))

    def _partitions(self) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for topic, p in sorted(self.log)]

    def consume(self, num_messages: int = 1, timeout: float = -1) -> list[FakeMessage]:
        if self.rebalance_next and self._assigned:
            self.rebalance_next = False
            self._callbacks["on_revoke"](self, self._partitions())
            self.calls.append(("revoked", None))
            self._assigned = False
        if not self._assigned:
            self._next = {key: max(self.committed.get(key, 0), 0) for key in self.log}
            self._callbacks["on_assign"](self, self._partitions())
            self._assigned = True
        out: list[FakeMessage] = []
        for key in sorted(self.log):
            if key in self.paused:
                continue
            while len(out) < num_messages and self._next[key] < len(self.log[key]):
                out.append(self.log[key][self._next[key]])
                self._next[key] += 1
        return out

    def commit(self, *, offsets: list[TopicPartition], asynchronous: bool = True) -> None:
        assert asynchronous is False  # the connector commits synchronously
        for tp in offsets:
            self.committed[(tp.topic, tp.partition)] = tp.offset
        self.calls.append(("commit", {(tp.topic, tp.partition): tp.offset for tp in offsets}))

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused |= {(tp.topic, tp.partition) for tp in partitions}
        self.calls.append(("pause", sorted((tp.topic, tp.partition) for tp in partitions)))

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused -= {(tp.topic, tp.partition) for tp in partitions}
        self.calls.append(("resume", sorted((tp.topic, tp.partition) for tp in partitions)))

    def close(self) -> None:
        if self._assigned:
            self._callbacks["on_revoke"](self, self._partitions())
        self.closed = True

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]
