"""The publisher's fused path (validation + encoding in one) and per-event extra headers."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest

from martech_bus.bus.publisher import FUSE_AFTER, BusPublisher
from martech_bus.bus.topics import BusConfig
from martech_bus.schema import validate
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry
from martech_bus.sinks.kafka import KafkaSink
from martech_bus.testing.kafka import consume_all
from tests.bus.helpers import FakeFactory, header
from tests.bus.test_publisher import provision

Make = Callable[..., dict[str, Any]]
MakePublisher = Callable[..., BusPublisher]
CLOCK = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class GeneralPathCodec(AvroCodec):
    """A codec offering no fused encoder: every event takes validate_event + encode."""

    def validating_encoder(
        self, entry: RegisteredSchema, exports: tuple[str, ...] = ()
    ) -> Callable[[dict[str, Any]], tuple[Any, ...] | None] | None:
        return None


def fake(
    registry: SchemaRegistry, order: Make, *, general: bool = False
) -> tuple[BusPublisher, FakeFactory]:
    """A publisher on a fake producer, past the warm-up (its fused paths built)."""
    factory = FakeFactory()
    sink = KafkaSink(bootstrap="fake:9092", producer_factory=factory)
    publisher = BusPublisher(registry, sink, now=lambda: CLOCK)
    if general:
        publisher.codec = GeneralPathCodec(registry)
    v1 = order(schema_version=1)
    del v1["properties"]["shipping_method"]
    publisher.publish([order() for _ in range(FUSE_AFTER)] + [v1] * FUSE_AFTER)
    factory.made[0].sent.clear()
    return publisher, factory


def sent(factory: FakeFactory) -> list[tuple[Any, ...]]:
    return [(r["topic"], r["value"], r["key"], r["headers"]) for p in factory.made for r in p.sent]


def variants(registry: SchemaRegistry, order: Make) -> list[Any]:
    """Events of every kind: JSON form, rare forms, fills, datum form, invalid ones."""
    plain = order()
    events: list[Any] = [plain, order(user_id=None), order(user_id="  ", anonymous_id="a-9")]
    events.append(order(occurred_at="2026-11-20T15:03:11.250123+01:00", traceparent="00-ab-cd-01"))
    events.append(order(occurred_at="2026-11-20 14:03:11.250Z", source="shop floor/2"))
    events.append(order(event_id=str(uuid.uuid4()).upper(), schema_version=None))
    no_received = order()
    del no_received["received_at"]
    events.append(no_received)
    events.append(validate.validate_event(registry, order())[1])  # datum form
    events.append(MappingProxyType(order()))  # a Mapping, not a dict
    v1 = order(schema_version=1)
    del v1["properties"]["shipping_method"]
    events.append(v1)
    bad = copy.deepcopy(order())
    bad["properties"]["currency"] = "eur"
    events += [bad, order(event_type="nope"), order(schema_version=True), ["not", "an", "event"]]
    events += [order(schema_version=7), order(extra_field=1)]
    return events


def test_the_fused_path_produces_exactly_the_records_of_the_general_path(
    registry: SchemaRegistry, order: Make
) -> None:
    events = variants(registry, order)
    fused, fused_factory = fake(registry, order)
    general, general_factory = fake(registry, order, general=True)

    fused_report = fused.publish(events)
    general_report = general.publish(events)

    assert sent(fused_factory) == sent(general_factory)
    assert [c.event_id for c in fused_report.confirmed] == [
        c.event_id for c in general_report.confirmed
    ]
    assert [(r.index, r.event_id, r.problems) for r in fused_report.rejected] == [
        (r.index, r.event_id, r.problems) for r in general_report.rejected
    ]
    assert len(fused_report.confirmed) == 10


def test_a_valid_json_event_does_not_need_validate_event(
    registry: SchemaRegistry, order: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher, _ = fake(registry, order)
    calls: list[Any] = []
    real = validate.validate_event
    monkeypatch.setattr(
        validate, "validate_event", lambda *a, **k: calls.append(a) or real(*a, **k)
    )

    report = publisher.publish([order(), order(user_id=None), order(currency_typo=1)])

    assert len(report.confirmed) == 2 and len(report.rejected) == 1
    assert len(calls) == 1  # only the invalid one, for its problems


def test_extra_headers_must_match_the_events_in_number(
    registry: SchemaRegistry, order: Make
) -> None:
    publisher, factory = fake(registry, order)

    with pytest.raises(ValueError, match="extra_headers has 1 entries for 2 events"):
        publisher.publish(iter([order(), order()]), extra_headers=[None])

    assert sent(factory) == []


def test_extra_headers_follow_the_standard_ones_on_either_path(
    registry: SchemaRegistry, order: Make
) -> None:
    publisher, factory = fake(registry, order)
    events = [order(), MappingProxyType(order()), order()]
    extra = [[("martech_route_mode", b"bus")], [("martech_route_mode", b"shadow")], None]

    publisher.publish(events, extra_headers=extra)

    first, second, third = (record[3] for record in sent(factory))
    assert first[-1] == ("martech_route_mode", b"bus")
    assert second[-1] == ("martech_route_mode", b"shadow")
    assert [name for name, _ in third] == [name for name, _ in first[:-1]]


@pytest.mark.integration
def test_extra_headers_are_on_the_records_read_back_from_the_broker(
    make_publisher: MakePublisher, kafka_bootstrap: str, order: Make, bus_config: BusConfig
) -> None:
    publisher = make_publisher()
    provision(kafka_bootstrap, publisher.registry, bus_config)
    events = [order(), order(), order()]
    extra = [
        [("martech_route_mode", b"bus")],
        None,
        [("martech_route_mode", b"shadow"), ("martech_route_vendor", b"braze")],
    ]

    report = publisher.publish(events, extra_headers=extra)

    assert report.ok
    records = consume_all(kafka_bootstrap, publisher.topic_for("order_completed"), 3)
    by_id = {header(r, "ce_id"): r for r in records}
    first, second, third = (by_id[e["event_id"].encode()] for e in events)
    assert list(first.headers[-1:]) == extra[0]
    assert header(second, "martech_route_mode") is None
    assert list(third.headers[-2:]) == extra[2]
    assert header(third, "ce_type") == b"martech.order_completed"


def test_the_first_events_of_a_schema_version_take_the_general_path(
    registry: SchemaRegistry, order: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = FakeFactory()
    publisher = BusPublisher(registry, KafkaSink(bootstrap="fake:9092", producer_factory=factory))
    calls: list[Any] = []
    real = validate.validate_event
    monkeypatch.setattr(
        validate, "validate_event", lambda *a, **k: calls.append(a) or real(*a, **k)
    )

    report = publisher.publish([order() for _ in range(FUSE_AFTER + 10)])

    assert report.ok
    assert len(calls) == FUSE_AFTER  # then the fused path, built once it pays off
