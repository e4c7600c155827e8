"""The publisher end to end: independent readers decode everything we publish."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from martech_bus.bus.publisher import BusFlushError, BusPublisher, central_ids
from martech_bus.bus.topics import BusConfig, admin_client, apply_topics, plan_topics
from martech_bus.schema.codec import AvroCodec, decode_wire
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from martech_bus.sinks.kafka import KafkaSink
from martech_bus.testing.kafka import ConsumedRecord, consume_all
from tests.bus.catalogues import widget_catalogue, widget_event
from tests.bus.helpers import QUIET, FakeFactory, header

Make = Callable[..., dict[str, Any]]
MakePublisher = Callable[..., BusPublisher]


def provision(bootstrap: str, registry: SchemaRegistry, config: BusConfig) -> None:
    """Create the test's topics (3 partitions) the way `bus topics --apply` does."""
    from dataclasses import replace

    from martech_bus.bus.topics import TopicSettings

    config = replace(config, defaults=TopicSettings(3, 1, {}))
    apply_topics(admin_client(bootstrap, {"logger": QUIET}), plan_topics(registry, config))


def publish_and_read(
    publisher: BusPublisher, bootstrap: str, events: list[dict[str, Any]]
) -> list[ConsumedRecord]:
    provision(bootstrap, publisher.registry, publisher.config)
    report = publisher.publish(events, timeout=30)
    assert report.ok, report
    topics = {publisher.topic_for(e["event_type"], e.get("schema_version")) for e in events}
    records: list[ConsumedRecord] = []
    for topic in sorted(topics):
        count = sum(1 for c in report.confirmed if c.topic == topic)
        records += consume_all(bootstrap, topic, expected_count=count, timeout=30)
    return records


def _plain(value: Any) -> Any:
    """UUIDs as strings, recursively (fastavro returns uuid.UUID; datum form holds str)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def fake_publisher(registry: SchemaRegistry, *modes: str, **options: Any) -> BusPublisher:
    sink = KafkaSink(bootstrap="fake:9092", producer_factory=FakeFactory(*modes))
    return BusPublisher(registry, sink, **options)


# --------------------------------------------------------------------------- values


@pytest.mark.integration
def test_confluents_avro_deserializer_decodes_every_value_with_synced_ids(
    registry: SchemaRegistry,
    bus_config: BusConfig,
    make_publisher: MakePublisher,
    kafka_bootstrap: str,
    order: Make,
) -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})
    synced = central_ids(registry, bus_config, client=client)
    publisher = make_publisher(reg=synced)
    events = [order(), order(schema_version=1), order(user_id=None)]
    for event in events[1:2]:
        del event["properties"]["shipping_method"]

    records = publish_and_read(publisher, kafka_bootstrap, events)

    deserialize = AvroDeserializer(client)
    decoded = {
        header(r, "ce_id"): _plain(
            deserialize(r.value, SerializationContext(r.topic, MessageField.VALUE))
        )
        for r in records
    }
    expected = {e["event_id"].encode(): validate_event(registry, e)[1] for e in events}
    assert decoded == expected


def test_schema_ids_sync_under_the_topic_subject_strategy(
    registry: SchemaRegistry, bus_config: BusConfig
) -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})

    synced = central_ids(registry, bus_config, client=client)

    topic = bus_config.topic_name("order_completed", 1)
    assert f"{topic}-value" in client.get_subjects()
    assert sorted(client.get_versions(f"{topic}-value")) == [1, 2]
    assert (
        synced.get("order_completed", 2).schema_id
        == client.get_latest_version(f"{topic}-value").schema_id
    )


def test_a_schema_registry_url_setting_makes_the_publisher_use_central_ids(
    monkeypatch: pytest.MonkeyPatch, registry: SchemaRegistry, order: Make
) -> None:
    monkeypatch.setenv("MARTECH_BUS_SCHEMA_REGISTRY_URL", f"mock://{uuid.uuid4().hex}")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # ./schemas and ./bus.yaml

    publisher = BusPublisher.connect(bootstrap="fake:9092", producer_factory=FakeFactory())

    # A fresh mock registry numbers schemas in registration order: the same sync, the same ids.
    central = central_ids(registry, publisher.config, url=f"mock://{uuid.uuid4().hex}")
    used = publisher.registry.get("order_completed", 2).schema_id
    assert used == central.get("order_completed", 2).schema_id
    assert used != registry.get("order_completed", 2).schema_id
    assert publisher.publish([order()]).ok


@pytest.mark.integration
def test_without_a_central_registry_values_carry_the_embedded_schema_id(
    registry: SchemaRegistry, make_publisher: MakePublisher, kafka_bootstrap: str, order: Make
) -> None:
    (record,) = publish_and_read(make_publisher(), kafka_bootstrap, [order()])

    schema_id, _ = decode_wire(record.value or b"")
    assert schema_id == registry.get("order_completed", 2).schema_id
    entry, datum = AvroCodec(registry).decode(record.value or b"")
    assert (entry.subject, entry.version, datum["event_id"]) == (
        "order_completed",
        2,
        header(record, "ce_id").decode(),  # type: ignore[union-attr]
    )


# --------------------------------------------------------------------------- keys and headers


@pytest.mark.integration
@pytest.mark.parametrize(
    ("user_id", "anonymous_id", "key"),
    [
        ("u-1842", "a-77d1f0", b"u-1842"),
        (None, "a-77d1f0", b"a-77d1f0"),
        ("   ", "a-77d1f0", b"a-77d1f0"),
        ("u-\u00e9", None, "u-\u00e9".encode()),
    ],
)
def test_the_key_is_the_user_id_else_the_anonymous_id(
    make_publisher: MakePublisher,
    kafka_bootstrap: str,
    order: Make,
    user_id: str | None,
    anonymous_id: str | None,
    key: bytes,
) -> None:
    event = order(user_id=user_id, anonymous_id=anonymous_id)

    (record,) = publish_and_read(make_publisher(), kafka_bootstrap, [event])

    assert record.key == key


@pytest.mark.integration
def test_one_users_events_stay_in_order_on_one_partition(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make
) -> None:
    events = [order(user_id="u-7") for _ in range(30)] + [
        order(user_id=f"x-{n}") for n in range(30)
    ]

    records = publish_and_read(make_publisher(), kafka_bootstrap, events)

    mine = [r for r in records if r.key == b"u-7"]
    assert len({r.partition for r in mine}) == 1
    assert [header(r, "ce_id") for r in sorted(mine, key=lambda r: r.offset)] == [
        e["event_id"].encode() for e in events[:30]
    ]


@pytest.mark.integration
def test_records_carry_cloudevents_binary_mode_headers(
    registry: SchemaRegistry, make_publisher: MakePublisher, kafka_bootstrap: str, order: Make
) -> None:
    event = order()

    (record,) = publish_and_read(make_publisher(), kafka_bootstrap, [event])

    assert dict(record.headers) == {
        "ce_id": event["event_id"].encode(),
        "ce_source": b"/martech/web",
        "ce_type": b"martech.order_completed",
        "ce_specversion": b"1.0",
        "ce_time": b"2026-11-20T14:03:11.250Z",
        "content-type": b"application/avro",
        "martech_schema_subject": b"order_completed",
        "martech_schema_version": b"2",
        "martech_schema_fingerprint": registry.get(
            "order_completed", 2
        ).fingerprints.sha256.encode(),
    }


@pytest.mark.integration
def test_integration_and_mapping_version_become_headers_when_given(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make, bus_config: BusConfig
) -> None:
    publisher = make_publisher()
    provision(kafka_bootstrap, publisher.registry, bus_config)

    publisher.publish([order()], integration="meta_capi", mapping_version=3)

    (record,) = consume_all(kafka_bootstrap, publisher.topic_for("order_completed"), 1)
    assert header(record, "martech_integration") == b"meta_capi"
    assert header(record, "martech_mapping_version") == b"3"


@pytest.mark.integration
def test_a_w3c_traceparent_is_carried_as_a_header(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make
) -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    (record,) = publish_and_read(make_publisher(), kafka_bootstrap, [order(traceparent=trace)])

    assert header(record, "traceparent") == trace.encode()


def test_a_source_that_is_not_uri_safe_is_percent_encoded_in_ce_source(
    registry: SchemaRegistry, order: Make
) -> None:
    factory = FakeFactory()
    publisher = BusPublisher(registry, KafkaSink(bootstrap="fake:9092", producer_factory=factory))

    publisher.publish([order(source="shop floor/2")])

    (record,) = factory.made[0].sent
    assert dict(record["headers"])["ce_source"] == b"/martech/shop%20floor%2F2"


# --------------------------------------------------------------------------- the report


@pytest.mark.integration
def test_invalid_events_are_rejected_with_their_problems_and_the_rest_published(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make, bus_config: BusConfig
) -> None:
    publisher = make_publisher()
    provision(kafka_bootstrap, publisher.registry, bus_config)
    bad = order(user_id=None, anonymous_id=None)
    bad["properties"]["currency"] = "eur"
    events: list[Any] = [order(), bad, ["not", "an", "event"], order(event_type="order_complete")]

    report = publisher.publish(events)

    assert len(report.confirmed) == 1
    assert [(r.index, r.event_id) for r in report.rejected] == [
        (1, bad["event_id"]),
        (2, None),
        (3, events[3]["event_id"]),
    ]
    assert {p.location.path for p in report.rejected[0].problems} == {
        "user_id",
        "properties.currency",
    }
    assert "did you mean 'order_completed'" in str(report.rejected[2].problems[0])


@pytest.mark.integration
def test_the_report_gives_each_confirmed_events_topic_partition_and_offset(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make, bus_config: BusConfig
) -> None:
    publisher = make_publisher()
    provision(kafka_bootstrap, publisher.registry, bus_config)
    events = [order(user_id=f"u-{n}") for n in range(20)]

    report = publisher.publish(events)

    topic = publisher.topic_for("order_completed")
    records = consume_all(kafka_bootstrap, topic, expected_count=20)
    assert {(c.event_id, c.topic, c.partition, c.offset) for c in report.confirmed} == {
        (header(r, "ce_id").decode(), topic, r.partition, r.offset)  # type: ignore[union-attr]
        for r in records
    }


def test_a_breaking_schema_version_is_published_to_the_next_major_topic(tmp_path: Path) -> None:
    registry = SchemaRegistry.load(widget_catalogue(tmp_path / "schemas"))
    publisher = fake_publisher(registry)

    report = publisher.publish([widget_event(1), widget_event(2), widget_event(3), widget_event(4)])

    assert [c.topic for c in report.confirmed] == [
        "martech.widget_made.v1",
        "martech.widget_made.v1",
        "martech.widget_made.v2",
        "martech.widget_made.v2",
    ]


# --------------------------------------------------------------------------- flush (the Lambda hook)


@pytest.mark.integration
def test_publishing_without_waiting_then_flushing_confirms_everything(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make, bus_config: BusConfig
) -> None:
    publisher = make_publisher()
    provision(kafka_bootstrap, publisher.registry, bus_config)
    events = [order() for _ in range(200)]

    early = publisher.publish(events, wait=False)
    late = publisher.flush(timeout=30)

    confirmed = {c.event_id for c in early.confirmed + late.confirmed}
    assert confirmed == {e["event_id"] for e in events}
    assert late.pending == 0


def test_flush_raises_when_an_event_was_left_unconfirmed(
    registry: SchemaRegistry, order: Make
) -> None:
    publisher = fake_publisher(registry, "fail:_MSG_TIMED_OUT")
    event = order()
    publisher.publish([event], wait=False)

    with pytest.raises(BusFlushError) as caught:
        publisher.flush()

    assert [u.event_id for u in caught.value.unconfirmed] == [event["event_id"]]
    assert caught.value.unconfirmed[0].maybe_delivered
    publisher.flush()  # handed over with the error: not raised twice


def test_an_event_confirmed_by_a_resend_no_longer_fails_the_flush(
    registry: SchemaRegistry, order: Make
) -> None:
    factory = FakeFactory("fail:_MSG_TIMED_OUT")
    publisher = BusPublisher(registry, KafkaSink(bootstrap="fake:9092", producer_factory=factory))
    first = publisher.publish([order()])
    factory.made[0].mode = "deliver"  # the broker is back

    again = publisher.resend(first.failed)

    assert [c.event_id for c in again.confirmed] == [first.failed[0].event_id]
    assert publisher.flush().ok
    original, resent = (
        {k: r[k] for k in ("topic", "value", "key", "headers")} for r in factory.made[0].sent
    )
    assert resent == original  # byte for byte


def test_rejected_events_do_not_fail_the_flush(registry: SchemaRegistry, order: Make) -> None:
    publisher = fake_publisher(registry)

    report = publisher.publish([order(event_type="nope")])

    assert len(report.rejected) == 1
    assert publisher.flush().ok


def test_events_read_before_the_input_fails_are_still_published_and_reported(
    registry: SchemaRegistry, order: Make
) -> None:
    publisher = fake_publisher(registry)
    events = [order(), order()]

    def source() -> Any:
        yield from events
        raise OSError("the input broke")

    with pytest.raises(OSError, match="the input broke"):
        publisher.publish(source())

    assert {c.event_id for c in publisher.flush().confirmed} == {e["event_id"] for e in events}


def test_only_retriable_hand_backs_are_offered_for_a_resend(
    registry: SchemaRegistry, order: Make
) -> None:
    publisher = fake_publisher(registry, "fail:MSG_SIZE_TOO_LARGE")

    report = publisher.publish([order()])

    assert len(report.failed) == 1
    assert report.resendable() == []
