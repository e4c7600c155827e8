"""The pipeline under migration flags: which path delivers, what is published, how it is stamped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from martech_bus.bus.publisher import Published, PublishReport, Rejected, Unconfirmed
from martech_bus.errors import ValidationError
from martech_bus.idempotency.memory import MemoryIdempotencyStore
from martech_bus.pipeline import BUS, EventStatus, Pipeline, RetryLater, VendorRoute
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.stamp import ROUTES_HEADER, SHADOW_PREFIX, DirectResult, read_stamp
from martech_bus.routing.store_memory import MemoryFlagStore
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.base import Outcome, OutcomeKind
from martech_bus.sinks.bus import BUS_VENDOR, BusSink, stamp_of
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from martech_bus.testing.sinks import RecordingSink
from tests.pipeline.test_pipeline import NOW, event_id, order, route


@dataclass
class FakePublisher:
    """Confirms every event unless its id is in ``fail``; keeps what it was asked to publish."""

    fail: set[str] = field(default_factory=set)
    retriable: bool = True
    published: list[tuple[Mapping[str, Any], list[tuple[str, bytes]]]] = field(default_factory=list)

    def publish(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        extra_headers: Sequence[list[tuple[str, bytes]] | None] | None = None,
        **_: Any,
    ) -> PublishReport:
        report = PublishReport()
        headers = extra_headers or [None] * len(events)
        for index, (event, extra) in enumerate(zip(events, headers, strict=True)):
            eid = str(event["event_id"])
            if eid in self.fail:
                report.failed.append(
                    Unconfirmed(eid, "t", "broker down", "_TRANSPORT", False, self.retriable, None)  # type: ignore[arg-type]
                )
                continue
            if event.get("event_type") == "poison":
                report.rejected.append(Rejected(index, eid, ValidationError("bad")))
                continue
            self.published.append((event, list(extra or [])))
            report.confirmed.append(Published(eid, "t", 0, len(self.published)))
        return report

    def close(self) -> PublishReport:
        return PublishReport()

    def stamps(self, vendor: str = "acme") -> list[Any]:
        return [read_stamp(headers, vendor) for _, headers in self.published]


@pytest.fixture
def flags() -> MemoryFlagStore:
    return MemoryFlagStore(ttl=0)


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


def routed(
    registry: SchemaRegistry,
    sink: RecordingSink,
    flags: MemoryFlagStore,
    publisher: FakePublisher,
    *,
    retry_later: RetryLater = RetryLater.DEAD_LETTER,
    bus_retry_later: RetryLater | None = None,
    idempotency: MemoryIdempotencyStore | None = None,
) -> Pipeline:
    bus = VendorRoute(
        BUS_VENDOR,
        lambda _: None,
        BusSink(lambda: publisher),  # type: ignore[arg-type,return-value]
        route=BUS,
        retry_later=bus_retry_later,
    )
    return Pipeline(
        registry,
        [route(sink)],
        MemoryDeadLetterStore(),
        idempotency=idempotency or MemoryIdempotencyStore(clock=NOW.timestamp),
        retry_later=retry_later,
        now=lambda: NOW,
        router=flags.decide,
        bus=bus,
    )


def flip(flags: MemoryFlagStore, mode: RouteMode, **rollout: Any) -> None:
    flags.set("acme", Setting(mode, **rollout), reason="test", who="tester")


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    from tests.pipeline.test_pipeline import ROOT

    return SchemaRegistry.load(ROOT / "schemas")


def test_without_a_flag_the_vendor_is_delivered_directly_and_nothing_is_published(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    sink = RecordingSink()
    (result,) = routed(registry, sink, flags, publisher).process([order()])
    assert result.status is EventStatus.DELIVERED
    assert len(sink.accepted) == 1
    assert publisher.published == []


def test_dual_mode_delivers_directly_and_publishes_stamped_dual(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.DUAL)
    sink = RecordingSink()
    (result,) = routed(registry, sink, flags, publisher).process([order()])
    assert result.status is EventStatus.DELIVERED
    assert len(sink.accepted) == 1
    (stamp,) = publisher.stamps()
    assert stamp.mode is RouteMode.DUAL
    assert not stamp.delivers
    assert stamp.direct is None  # only shadow mode carries the direct payload


def test_bus_mode_publishes_and_leaves_delivery_to_the_connector(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.BUS)
    sink = RecordingSink()
    (result,) = routed(registry, sink, flags, publisher).process([order()])
    assert result.status is EventStatus.DELIVERED
    assert sink.accepted == []
    vendor, bus = result.outcomes
    assert vendor.kind is OutcomeKind.SKIPPED
    assert "bus connector delivers" in (vendor.reason or "")
    assert bus.kind is OutcomeKind.DELIVERED
    (stamp,) = publisher.stamps()
    assert stamp.delivers


def test_shadow_mode_publishes_the_direct_payload_for_the_connector_to_diff(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.SHADOW)
    sink = RecordingSink()
    routed(registry, sink, flags, publisher).process([order()])
    (delivery,) = sink.accepted
    (stamp,) = publisher.stamps()
    assert stamp.shadows and not stamp.delivers
    assert stamp.direct == DirectResult(dict(delivery.payload), 4)


def test_shadow_mode_stamps_why_the_direct_path_skipped(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.SHADOW)
    pipeline = routed(registry, RecordingSink(), flags, publisher)
    pipeline.routes = [VendorRoute("acme", lambda _: None, RecordingSink())]  # maps nothing
    pipeline.process([order()])
    (stamp,) = publisher.stamps()
    assert stamp.direct is not None and stamp.direct.skipped is not None
    assert "does not map" in stamp.direct.skipped


def test_the_stamp_lists_every_vendor_that_publishes_and_only_those(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flags.set("acme", Setting(RouteMode.BUS), reason="test", who="t")
    pipeline = routed(registry, RecordingSink(), flags, publisher)
    other = RecordingSink()
    pipeline.routes = [
        *pipeline.routes,
        VendorRoute("other", pipeline.routes[0].mapping_for, other),
    ]
    pipeline.process([order()])
    ((_, headers),) = publisher.published
    assert dict(headers)[ROUTES_HEADER] == b"acme=bus"
    assert len(other.accepted) == 1  # "other" has no flag: direct
    assert not any(name.startswith(SHADOW_PREFIX) for name, _ in headers)


def test_an_unconfirmed_publish_is_retried_later_when_the_caller_can_retry(
    registry: SchemaRegistry, flags: MemoryFlagStore
) -> None:
    flip(flags, RouteMode.BUS)
    publisher = FakePublisher(fail={order()["event_id"]})
    pipeline = routed(
        registry, RecordingSink(), flags, publisher, bus_retry_later=RetryLater.REPORT
    )
    (result,) = pipeline.process([order()])
    assert result.status is EventStatus.RETRY_LATER
    assert pipeline.dead_letters.list() == []


def test_an_unconfirmed_publish_is_dead_lettered_with_its_stamp_when_nothing_retries(
    registry: SchemaRegistry, flags: MemoryFlagStore
) -> None:
    flip(flags, RouteMode.BUS)
    publisher = FakePublisher(fail={order()["event_id"]})
    pipeline = routed(registry, RecordingSink(), flags, publisher)
    (result,) = pipeline.process([order()])
    assert result.status is EventStatus.DEAD_LETTERED
    (letter,) = pipeline.dead_letters.list()
    assert letter.vendor == BUS_VENDOR and letter.route == BUS
    assert stamp_of(letter.extra["stamp"]).modes == {"acme": RouteMode.BUS}


def test_a_retried_event_is_not_published_twice(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.DUAL)
    failing = RecordingSink(
        answer=lambda d: Outcome(d.event_id, OutcomeKind.RETRY_LATER, "vendor down")
    )
    idempotency = MemoryIdempotencyStore(clock=NOW.timestamp)
    pipeline = routed(
        registry,
        failing,
        flags,
        publisher,
        retry_later=RetryLater.REPORT,
        idempotency=idempotency,
    )
    (first,) = pipeline.process([order()])
    assert first.status is EventStatus.RETRY_LATER
    healthy = RecordingSink()
    pipeline.routes = [route(healthy)]
    (second,) = pipeline.process([order()])
    assert second.status is EventStatus.DELIVERED
    assert len(publisher.published) == 1
    assert len(healthy.accepted) == 1


def test_a_direct_delivery_and_a_bus_delivery_share_one_idempotency_key(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    # Delivered directly in dual mode; the connector (unrouted, same store) then skips it.
    flip(flags, RouteMode.DUAL)
    idempotency = MemoryIdempotencyStore(clock=NOW.timestamp)
    direct_sink = RecordingSink()
    routed(registry, direct_sink, flags, publisher, idempotency=idempotency).process([order()])
    bus_sink = RecordingSink()
    connector_side = Pipeline(
        registry,
        [route(bus_sink)],
        MemoryDeadLetterStore(),
        idempotency=idempotency,
        now=lambda: NOW,
    )
    (result,) = connector_side.process([order()])
    assert result.status is EventStatus.SKIPPED
    assert bus_sink.accepted == []
    assert len(direct_sink.accepted) == 1


def test_a_rollout_moves_only_the_users_inside_the_percentage(
    registry: SchemaRegistry, flags: MemoryFlagStore, publisher: FakePublisher
) -> None:
    flip(flags, RouteMode.DIRECT, to=RouteMode.BUS, percent=50)
    sink = RecordingSink()
    events = [order(event_id=event_id(n), user_id=f"user-{n}") for n in range(200)]
    results = routed(registry, sink, flags, publisher).process(events)
    assert all(r.status is EventStatus.DELIVERED for r in results)
    direct = {d.event_id for d in sink.accepted}
    published = {str(e["event_id"]) for e, _ in publisher.published}
    assert direct.isdisjoint(published)
    assert direct | published == {str(e["event_id"]) for e in events}
    assert 60 < len(published) < 140  # about half; the exact split is the hash's
