"""The connector against a real broker and a real HTTP vendor stub: versions, crashes, outages,
dead letters and rebalances. Time in the pipeline is a fake clock: retries and backoffs never wait."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.schema.codec import encode_wire
from martech_bus.sinks import kafka_dlq
from martech_bus.testing.clock import FakeTime
from martech_bus.testing.kafka import consume_all
from tests.connector.conftest import World
from tests.connector.helpers import Bus, Threads, Vendor, order, per_partition, wait_until

ORDERS = "order_completed"


def ids(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(event["event_id"]) for event in events)


def v1_only_copy(world: World, monkeypatch: pytest.MonkeyPatch, pixel: str) -> Path:
    """The stubbed meta_capi adapter with its order mapping narrowed to v1, on its own pixel."""
    import shutil

    target = world.tmp / "v1-only"
    shutil.copytree(world.adapters / "meta_capi", target / "meta_capi")
    mapping = target / "meta_capi" / "mappings" / "order_completed.yaml"
    text = mapping.read_text(encoding="utf-8")
    assert "versions: [1, 2]" in text
    mapping.write_text(text.replace("versions: [1, 2]", "versions: [1]"), encoding="utf-8")
    manifest = target / "meta_capi" / "adapter.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(
        text.replace("env:META_PIXEL_ID", "env:META_PIXEL_V1_ONLY"), encoding="utf-8"
    )
    monkeypatch.setenv("META_PIXEL_V1_ONLY", pixel)
    return target


def test_every_registered_version_is_decoded_into_the_version_the_mapping_reads(
    world: World, bus: Bus, vendor: Vendor, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1_vendor = Vendor()
    httpserver.expect_request("/v19.0/111/events", method="POST").respond_with_handler(v1_vendor)
    versions = [entry.version for entry in bus.registry.versions(ORDERS)]
    assert versions == [1, 2]
    events = [
        order(n, version) for version in versions for n in range(version * 100, version * 100 + 4)
    ]
    bus.publish(events)
    both = world.connector(group="reads-v2")  # the shipped mapping accepts [1, 2]: reads v2
    v1_only = world.connector(  # its own idempotency records: it delivers the same events again
        world.runtime(
            adapters_dir=v1_only_copy(world, monkeypatch, "111"), idempotency_setting="memory"
        ),
        group="reads-v1",
    )
    with Threads() as threads:
        threads.start(both)
        threads.start(v1_only)
        wait_until(
            lambda: threads.errors or (vendor.distinct() == 8 and v1_vendor.distinct() == 8),
            30,
            "both vendors to receive every event",
        )
    assert not threads.errors

    assert both.stats.decoded == {(ORDERS, 1, 2): 4, (ORDERS, 2, 2): 4}
    assert v1_only.stats.decoded == {(ORDERS, 1, 1): 4, (ORDERS, 2, 1): 4}
    assert vendor.counts() == ids(events) == v1_vendor.counts()
    assert {item["custom_data"]["order_id"] for item in v1_vendor.bodies} == {
        f"ORD-{n}" for n in [*range(100, 104), *range(200, 204)]
    }
    for connector in (both, v1_only):
        assert connector.stats.invalid == connector.stats.dead_lettered == 0
    assert world.runtime().dead_letters.count() == 0


class CrashError(Exception):
    """The process dies here."""


class CrashingConsumer:
    """A real consumer whose ``crash_at``-th commit kills the 'process': nothing is committed after."""

    def __init__(self, real: Any, crash_at: int) -> None:
        self.real = real
        self.crash_at = crash_at
        self.commits = 0
        self.dead = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        if self.dead:
            return None  # a dead process commits nothing
        self.commits += 1
        if self.commits == self.crash_at:
            self.dead = True
            raise CrashError
        return self.real.commit(*args, **kwargs)


def test_a_crash_after_delivery_rereads_only_unfinished_records_and_sends_none_twice(
    world: World, bus: Bus, vendor: Vendor
) -> None:
    from confluent_kafka import Consumer

    events = [order(n) for n in range(30)]
    placed = bus.publish(events)

    def crashing(config: dict[str, Any]) -> Any:
        return CrashingConsumer(Consumer(config), crash_at=2)

    first = world.connector(batch_size=10, consumer_factory=crashing)
    with pytest.raises(CrashError):  # batch 2 is delivered, then the process dies before its commit
        first.run()
    committed = bus.committed(first.group, bus.topic(ORDERS))
    committed_count = sum(max(offset, 0) for offset in committed.values())
    delivered_uncommitted = first.stats.delivered - committed_count
    assert committed_count > 0 and delivered_uncommitted > 0, (committed, first.stats)

    second = world.connector(world.runtime(), batch_size=10)
    second.run(max_messages=30 - committed_count)

    assert second.stats.fetched == 30 - committed_count  # committed records are not read again
    assert second.stats.skipped == delivered_uncommitted  # idempotency: "already delivered"
    assert second.stats.delivered == 30 - first.stats.delivered
    assert vendor.counts() == ids(events)  # every event exactly once
    assert bus.committed(second.group, bus.topic(ORDERS)) == per_partition(
        placed, bus.topic(ORDERS)
    )


def test_a_vendor_outage_pauses_consumption_then_delivers_everything_once(
    world: World, bus: Bus, vendor: Vendor
) -> None:
    vendor.fail_next = 8  # five attempts open the breaker; its probes fail until the 9th request
    events = [order(n) for n in range(20)]
    placed = bus.publish(events)
    clock = FakeTime()
    connector = world.connector(world.runtime(clock))

    stats = connector.run(max_messages=20)

    assert stats.pauses >= 1 and stats.resumes >= 1 and stats.retried > 0
    assert vendor.requests > 8 and clock.sleeps  # it backed off (in fake time) instead of giving up
    assert vendor.counts() == ids(events)
    assert stats.delivered == 20 and stats.dead_lettered == 0
    assert world.runtime().dead_letters.count() == 0
    assert bus.committed(connector.group, bus.topic(ORDERS)) == per_partition(
        placed, bus.topic(ORDERS)
    )


def test_terminal_vendor_errors_and_undecodable_records_are_dead_lettered_and_committed(
    world: World, bus: Bus, vendor: Vendor
) -> None:
    vendor.status = 400  # not retryable
    events = [order(n) for n in range(3)]
    placed = bus.publish(events)
    placed += bus.produce([(bus.topic(ORDERS), b"user-x", b"\x01not a confluent frame")])
    connector = world.connector()

    stats = connector.run(max_messages=4)

    assert (stats.dead_lettered, stats.undecodable, stats.pauses) == (3, 1, 0)
    records = world.runtime().dead_letters.list()
    assert {record.route for record in records} == {"bus"}
    assert {record.vendor for record in records} == {"meta_capi"}
    terminal = [record for record in records if record.status_code == 400]
    assert Counter(record.event_id for record in terminal) == ids(events)
    (raw,) = [record for record in records if record.status_code is None]
    assert raw.reason.startswith("undecodable record: wrong magic byte 0x01")
    assert raw.event["value"] == b"\x01not a confluent frame"
    topic, partition, offset = placed[-1]
    assert dict(raw.extra) == {"topic": topic, "partition": partition, "offset": offset}
    assert bus.committed(connector.group, bus.topic(ORDERS)) == per_partition(
        placed, bus.topic(ORDERS)
    )


def test_undecodable_records_go_to_the_dead_letter_topic_with_connect_headers(
    kafka_bootstrap: str, world: World, bus: Bus, vendor: Vendor
) -> None:
    dlq = bus.prefix + "connector-dlq"
    bus.create([], partitions=1, extra=[dlq])
    good = [order(n) for n in range(2)]
    valid = bus.codec.encode(_datum(bus, order(99)), ORDERS, 2)
    bad = {
        b"bad-magic": (b"\x07" + valid[1:], "wrong magic byte 0x07"),
        b"unknown-id": (encode_wire(424242, valid[5:]), "unknown schema id 424242"),
        b"truncated": (valid[: len(valid) // 2], "truncated or corrupt Avro body"),
    }
    origin = [("ce_id", b"original-header")]
    placed = bus.publish(good)
    placed += bus.produce(
        [(bus.topic(ORDERS), key, value, origin) for key, (value, _) in bad.items()]
    )
    connector = world.connector(dead_letter_topic=dlq, task_id="7")

    stats = connector.run(max_messages=5)

    assert (stats.delivered, stats.undecodable) == (2, 3)
    assert vendor.counts() == ids(good)
    assert world.runtime().dead_letters.count() == 0  # the topic took them
    where = dict(zip(bad, placed[2:], strict=True))
    records = consume_all(kafka_bootstrap, dlq, expected_count=3, timeout=30)  # kafka-python reads
    assert len(records) == 3
    for record in records:
        assert record.key is not None
        value, problem = bad[record.key]
        headers = dict(record.headers)
        topic, partition, offset = where[record.key]
        assert record.value == value  # the raw bytes, untouched
        assert headers["ce_id"] == b"original-header"  # the record's own headers are kept
        connect = {
            name.removeprefix(kafka_dlq.HEADER_PREFIX): text.decode()
            for name, text in headers.items()
            if name.startswith(kafka_dlq.HEADER_PREFIX) and text is not None
        }
        assert connect.pop("exception.stacktrace").startswith("Traceback")
        assert problem in connect.pop("exception.message")
        assert connect == {
            "topic": topic,
            "partition": str(partition),
            "offset": str(offset),
            "connector.name": connector.group,
            "task.id": "7",
            "stage": "VALUE_CONVERTER",
            "class.name": "martech_bus.schema.codec.AvroCodec",
            "exception.class.name": "martech_bus.errors.CodecError",
        }
    assert bus.committed(connector.group, bus.topic(ORDERS)) == per_partition(
        placed, bus.topic(ORDERS)
    )


def _datum(bus: Bus, event: dict[str, Any]) -> dict[str, Any]:
    from martech_bus.schema.validate import validate_event

    return validate_event(bus.registry, event)[1]


def throttled(clock: FakeTime) -> Callable[[float], None]:
    """Backoff in fake time, yielding the CPU a little so a spinning connector leaves room."""

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        time.sleep(0.005)

    return sleep


def test_a_rebalance_during_an_outage_neither_loses_nor_duplicates_held_records(
    world: World, bus: Bus, vendor: Vendor
) -> None:
    vendor.down = True
    events = [order(n) for n in range(12)]
    placed = bus.publish(events)
    clocks = FakeTime(), FakeTime()
    first, second = (
        world.connector(world.runtime(clock), sleep=throttled(clock)) for clock in clocks
    )
    with Threads() as threads:
        threads.start(first)
        wait_until(
            lambda: threads.errors or first.stats.waiting > 0,
            30,
            "records held on paused partitions",
        )
        threads.start(second)
        wait_until(
            lambda: (
                threads.errors
                or (first.stats.revocations and first.stats.assigned and second.stats.assigned)
            ),
            30,
            "the group to rebalance over both connectors",
        )
        vendor.down = False
        wait_until(
            lambda: threads.errors or vendor.distinct() == 12, 30, "every event at the vendor"
        )
        wait_until(
            lambda: threads.errors or first.stats.waiting + second.stats.waiting == 0,
            30,
            "nothing held",
        )
    assert not threads.errors
    assert vendor.counts() == ids(events)  # the dropped held records were delivered once, later
    assert (
        first.stats.delivered + second.stats.delivered + first.stats.skipped + second.stats.skipped
        >= 12
    )
    assert world.runtime().dead_letters.count() == 0
    assert bus.committed(first.group, bus.topic(ORDERS)) == per_partition(placed, bus.topic(ORDERS))
