"""The connector's commit, pause and rebalance logic with a scripted consumer (no broker, no waits).

The pipeline, adapter, stores and the HTTP vendor stub are real; only the Kafka
consumer is the in-memory fake of tests/connector/fakes.py.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from martech_bus.connector import Connector
from martech_bus.connector.decoding import topic_for
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from martech_bus.sinks.kafka_dlq import KafkaDeadLetterProducer
from tests.connector.conftest import World
from tests.connector.fakes import FakeConsumer
from tests.connector.helpers import ROOT, Vendor, order

ORDERS = topic_for(SchemaRegistry.load(ROOT / "schemas").get("order_completed"))
P0, P1 = (ORDERS, 0), (ORDERS, 1)


@pytest.fixture
def frames(registry: SchemaRegistry) -> Any:
    codec = AvroCodec(registry)

    def encode(n: int) -> bytes:
        entry, datum = validate_event(registry, order(n))
        return codec.encode(datum, entry.subject, entry.version)

    return encode


def connector_on(offline: World, fake: FakeConsumer, **options: Any) -> Connector:
    return offline.connector(consumer_factory=lambda config: fake, batch_size=10, **options)


def test_an_outage_pauses_the_partitions_retries_the_same_records_then_resumes_and_commits(
    offline: World, vendor: Vendor, frames: Any
) -> None:
    fake = FakeConsumer()
    for n in range(3):
        fake.append(*P0, frames(n))
    for n in range(3, 5):
        fake.append(*P1, frames(n))
    vendor.fail_next = 5  # the sink's five attempts fail; the breaker's trial succeeds later

    stats = connector_on(offline, fake).run(max_messages=5)

    kinds = fake.kinds()
    assert kinds.index("pause") < kinds.index("resume") < kinds.index("commit")
    assert dict(fake.calls)["pause"] == [P0, P1]
    assert stats.retried >= 5 and stats.pauses == 2 and stats.resumes == 2
    assert fake.committed == {P0: 3, P1: 2}
    assert vendor.counts() == Counter(order(n)["event_id"] for n in range(5))
    assert fake.closed


def test_a_held_partition_never_holds_back_the_others_nor_commits_past_its_held_record(
    offline: World, vendor: Vendor, frames: Any
) -> None:
    fake = FakeConsumer()
    for n in range(3):
        fake.append(*P0, frames(n))
    for n in range(3, 6):
        fake.append(*P1, frames(n))
    runtime = offline.runtime()
    # Another sender holds a lease on P0's middle event: the pipeline says "retry later".
    claim = runtime.idempotency.claim(f"meta_capi:3:{order(1)['event_id']}")
    assert claim is not None
    connector = connector_on(offline, fake, runtime=runtime)

    connector.run_once()

    assert fake.committed == {P0: 1, P1: 3}  # P1 flows; P0 stops before its held record
    assert fake.paused == {P0} and connector.stats.waiting == 1
    claim.complete()  # the other sender delivered it
    connector.run_once()

    assert fake.committed == {P0: 3, P1: 3} and fake.paused == set()
    assert connector.stats.skipped == 1  # already delivered by the other sender
    assert sorted(vendor.counts()) == sorted(order(n)["event_id"] for n in (0, 2, 3, 4, 5))
    connector.close()


def test_an_undecodable_record_is_held_until_its_dead_letter_is_acknowledged(
    offline: World, vendor: Vendor, frames: Any
) -> None:
    class FlakyProducer:
        def __init__(self) -> None:
            self.sent: list[dict[str, Any]] = []
            self.flushes = 0

        def produce(self, topic: str, **kwargs: Any) -> None:
            self.sent.append({"topic": topic, **kwargs})

        def poll(self, timeout: float = 0) -> int:
            return 0

        def flush(self, timeout: float = 0) -> int:
            self.flushes += 1
            return 1 if self.flushes == 1 else 0  # the first flush times out

    fake = FakeConsumer()
    fake.append(*P0, frames(0))
    fake.append(*P0, b"\x00\x00\x00")  # truncated: not even a header
    fake.append(*P0, frames(2))
    producer = FlakyProducer()
    dlq = KafkaDeadLetterProducer(producer, "dlq", connector_name="c")
    connector = connector_on(offline, fake, dead_letter_producer=dlq)

    connector.run_once()
    assert fake.committed == {P0: 1} and connector.stats.waiting == 1  # not past the dead letter
    connector.run_once()

    assert fake.committed == {P0: 3} and connector.stats.undecodable == 1
    assert [sent["value"] for sent in producer.sent] == [b"\x00\x00\x00"] * 2  # at-least-once
    assert vendor.distinct() == 2
    connector.close()


def test_a_rebalance_commits_finished_work_drops_held_records_and_unpauses_them(
    offline: World, vendor: Vendor, frames: Any
) -> None:
    fake = FakeConsumer()
    for n in range(3):
        fake.append(*P0, frames(n))
    vendor.down = True
    connector = connector_on(offline, fake)
    connector.run_once()
    assert connector.stats.waiting == 3 and fake.paused == {P0}

    fake.rebalance_next = True
    connector.run_once()

    kinds = fake.kinds()
    assert kinds.index("revoked") > kinds.index("resume")  # unpaused while still ours
    assert "commit" not in kinds  # nothing finished, nothing committed
    assert connector.stats.revocations == 1
    assert connector.stats.waiting == 3  # read again from the committed offset, held again
    vendor.down = False
    while connector.stats.finished < 3:
        connector.run_once()
    assert fake.committed == {P0: 3}
    assert vendor.counts() == Counter(order(n)["event_id"] for n in range(3))
    connector.close()


def test_auto_commit_cannot_be_switched_on(offline: World) -> None:
    from martech_bus.errors import ConfigError

    connector = offline.connector(consumer_config={"enable.auto.commit": "true"})
    with pytest.raises(ConfigError, match=r"enable\.auto\.commit"):
        connector.start()
