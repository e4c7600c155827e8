"""The pipeline: validate -> route -> map -> deliver, one result per event, nothing lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from martech_bus.idempotency.memory import MemoryIdempotencyStore
from martech_bus.mapping import compile_mapping, parse_mapping
from martech_bus.pipeline import EventStatus, Pipeline, RetryLater, VendorRoute
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from martech_bus.testing.sinks import RecordingSink

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

MAPPING = compile_mapping(
    parse_mapping(
        """
mapping_version: 4
source: {event: order_completed, versions: [1, 2]}
output:
  id: {path: event_id, required: true}
  order: {path: properties.order_id}
  total: {path: properties.total, transform: [{cast: float}]}
  first_sku: {path: 'properties.products[0].sku', required: true}
"""
    )
)


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(ROOT / "schemas")


def order(event_id: str = "6f1c2b9e-4d3a-4e8f-9a51-2c7d0b8e1f34", **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (ROOT / "examples" / "events" / "order_completed.json").read_text()
    )
    event["event_id"] = event_id
    event.update(changes)
    return event


def event_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def route(sink: RecordingSink, *, purposes: tuple[str, ...] = ()) -> VendorRoute:
    def mapping_for(event_type: str) -> tuple[int, Any] | None:
        return (4, MAPPING) if event_type == "order_completed" else None

    return VendorRoute("acme", mapping_for, sink, consent_purposes=purposes)


def pipeline(
    registry: SchemaRegistry,
    sink: RecordingSink,
    *,
    retry_later: RetryLater = RetryLater.DEAD_LETTER,
    purposes: tuple[str, ...] = (),
    idempotency: MemoryIdempotencyStore | None = None,
) -> Pipeline:
    return Pipeline(
        registry,
        [route(sink, purposes=purposes)],
        MemoryDeadLetterStore(),
        idempotency=idempotency
        if idempotency is not None
        else MemoryIdempotencyStore(clock=NOW.timestamp),
        retry_later=retry_later,
        now=lambda: NOW,
    )


def failing(kind: OutcomeKind, *, only: str | None = None) -> Callable[[Delivery], Outcome]:
    def answer(delivery: Delivery) -> Outcome:
        if only is None or delivery.event_id == only:
            return Outcome(
                delivery.event_id, kind, f"vendor said {kind.value}", attempts=3, status_code=503
            )
        return Outcome(delivery.event_id, OutcomeKind.DELIVERED, attempts=1, status_code=200)

    return answer


def test_a_valid_event_is_mapped_and_delivered(registry: SchemaRegistry) -> None:
    sink = RecordingSink()
    (result,) = pipeline(registry, sink).process([order()])
    assert result.status is EventStatus.DELIVERED
    (delivery,) = sink.accepted
    assert delivery.payload == {
        "id": result.event_id,
        "order": "ORD-100234",
        "total": 134.8,
        "first_sku": "SKU-RED-42",
    }
    assert delivery.mapping_version == 4


def test_results_come_back_in_input_order_one_per_event(registry: SchemaRegistry) -> None:
    events = [order(event_id(1)), {"nonsense": True}, order(event_id(3))]
    results = pipeline(registry, RecordingSink()).process(events)
    assert [r.status for r in results] == [
        EventStatus.DELIVERED,
        EventStatus.INVALID,
        EventStatus.DELIVERED,
    ]
    assert [results[0].event_id, results[2].event_id] == [event_id(1), event_id(3)]


def test_an_invalid_event_is_dead_lettered_with_its_problems_and_does_not_fail_the_batch(
    registry: SchemaRegistry,
) -> None:
    sink = RecordingSink()
    flow = pipeline(registry, sink)
    bad = order(event_id(2), properties={"order_id": "x"})
    results = flow.process([order(event_id(1)), bad])
    assert results[1].status is EventStatus.INVALID
    assert any("properties.total" in problem for problem in results[1].problems)
    (record,) = flow.dead_letters.list()
    assert (record.event_id, record.route) == (event_id(2), "validation")
    assert sink.accepted_event_ids == [event_id(1)]


def test_a_value_that_is_not_an_object_is_kept_as_a_dead_letter(registry: SchemaRegistry) -> None:
    flow = pipeline(registry, RecordingSink())
    (result,) = flow.process(["not json at all"])
    assert result.status is EventStatus.INVALID
    (record,) = flow.dead_letters.list()
    assert record.event == {"value": "not json at all"}


def test_an_event_the_vendor_does_not_map_is_skipped_with_the_reason(
    registry: SchemaRegistry,
) -> None:
    page = {
        "event_id": event_id(5),
        "event_type": "page_viewed",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "web",
        "anonymous_id": "a-1",
        "context": {},
        "properties": {"path": "/", "url": "https://shop.example/"},
    }
    (result,) = pipeline(registry, RecordingSink()).process([page])
    assert result.status is EventStatus.SKIPPED
    assert result.reason == "acme does not map page_viewed"


def test_an_event_without_the_consent_the_vendor_needs_is_skipped_not_sent(
    registry: SchemaRegistry,
) -> None:
    sink = RecordingSink()
    denied = order(consent={"marketing": False})
    (result,) = pipeline(registry, sink, purposes=("marketing",)).process([denied])
    assert result.status is EventStatus.SKIPPED
    assert result.reason == "consent denied: marketing"
    assert sink.batches == []


def test_a_mapping_failure_is_dead_lettered_naming_the_field(registry: SchemaRegistry) -> None:
    flow = pipeline(registry, RecordingSink())
    no_sku = order()
    for product in no_sku["properties"]["products"]:
        product.pop("sku")
    (result,) = flow.process([no_sku])
    assert result.status is EventStatus.DEAD_LETTERED
    (record,) = flow.dead_letters.list()
    assert "first_sku" in record.reason


def test_a_terminal_vendor_failure_becomes_a_dead_letter(registry: SchemaRegistry) -> None:
    flow = pipeline(registry, RecordingSink(failing(OutcomeKind.DEAD_LETTERED)))
    (result,) = flow.process([order()])
    assert result.status is EventStatus.DEAD_LETTERED
    (record,) = flow.dead_letters.list()
    assert (record.vendor, record.mapping_version, record.attempts) == ("acme", 4, 3)
    assert result.outcomes[0].detail["dead_letter_id"] == record.id


def test_exhausted_retries_are_dead_lettered_when_nothing_else_would_retry(
    registry: SchemaRegistry,
) -> None:
    flow = pipeline(
        registry,
        RecordingSink(failing(OutcomeKind.RETRY_LATER)),
        retry_later=RetryLater.DEAD_LETTER,
    )
    (result,) = flow.process([order()])
    assert result.status is EventStatus.DEAD_LETTERED
    assert flow.dead_letters.count() == 1


def test_exhausted_retries_are_reported_when_the_source_retries(registry: SchemaRegistry) -> None:
    flow = pipeline(
        registry, RecordingSink(failing(OutcomeKind.RETRY_LATER)), retry_later=RetryLater.REPORT
    )
    (result,) = flow.process([order()])
    assert result.status is EventStatus.RETRY_LATER
    assert flow.dead_letters.count() == 0


def test_an_event_already_delivered_is_not_sent_again(registry: SchemaRegistry) -> None:
    sink = RecordingSink()
    flow = pipeline(registry, sink)
    flow.process([order()])
    (again,) = flow.process([order()])
    assert again.status is EventStatus.SKIPPED
    assert again.reason == "already delivered to acme"
    assert len(sink.accepted) == 1


def test_a_duplicate_within_one_batch_is_sent_once(registry: SchemaRegistry) -> None:
    sink = RecordingSink()
    results = pipeline(registry, sink).process([order(), order()])
    assert sorted(r.status for r in results) == [EventStatus.DELIVERED, EventStatus.SKIPPED]
    assert len(sink.accepted) == 1


def test_a_retry_later_event_can_be_delivered_on_the_next_attempt(registry: SchemaRegistry) -> None:
    store = MemoryIdempotencyStore(clock=NOW.timestamp)
    first = pipeline(
        registry,
        RecordingSink(failing(OutcomeKind.RETRY_LATER)),
        retry_later=RetryLater.REPORT,
        idempotency=store,
    )
    assert first.process([order()])[0].status is EventStatus.RETRY_LATER
    sink = RecordingSink()
    second = pipeline(registry, sink, idempotency=store)
    assert second.process([order()])[0].status is EventStatus.DELIVERED


def test_a_dead_lettered_event_can_be_claimed_again_for_replay(registry: SchemaRegistry) -> None:
    store = MemoryIdempotencyStore(clock=NOW.timestamp)
    pipeline(
        registry, RecordingSink(failing(OutcomeKind.DEAD_LETTERED)), idempotency=store
    ).process([order()])
    sink = RecordingSink()
    (replayed,) = pipeline(registry, sink, idempotency=store).process([order()])
    assert replayed.status is EventStatus.DELIVERED


def test_one_failing_event_does_not_affect_the_others_in_its_batch(
    registry: SchemaRegistry,
) -> None:
    sink = RecordingSink(failing(OutcomeKind.DEAD_LETTERED, only=event_id(2)))
    results = pipeline(registry, sink).process([order(event_id(n)) for n in (1, 2, 3)])
    assert [r.status for r in results] == [
        EventStatus.DELIVERED,
        EventStatus.DEAD_LETTERED,
        EventStatus.DELIVERED,
    ]


def test_an_event_another_sender_is_delivering_is_left_for_later(registry: SchemaRegistry) -> None:
    store = MemoryIdempotencyStore(clock=NOW.timestamp)
    assert (
        store.claim(f"acme:4:{order()['event_id']}") is not None
    )  # the other path holds the lease
    sink = RecordingSink()
    (result,) = pipeline(registry, sink, idempotency=store).process([order()])
    assert result.status is EventStatus.RETRY_LATER
    assert result.reason == "delivery in progress elsewhere"
    assert sink.batches == []
