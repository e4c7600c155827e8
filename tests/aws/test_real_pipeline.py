"""The entry point around a real ``Pipeline``: dead letters, not endless retries."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from martech_bus.aws import InvocationContext, make_handler
from martech_bus.pipeline import VALIDATION_ROUTE, Pipeline, VendorRoute
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from tests.aws import events
from tests.aws.fakes import http_body

Handler = Callable[[dict[str, Any], Any], Any]


class ScriptedSink:
    """A vendor whose answer is the same for every delivery; records what it was sent."""

    def __init__(self, kind: OutcomeKind) -> None:
        self.kind = kind
        self.delivered: list[str] = []

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        self.delivered += [d.event_id for d in deliveries]
        return [
            Outcome(d.event_id, self.kind, f"vendor said {self.kind.value}") for d in deliveries
        ]


@pytest.fixture(scope="module")
def registry(schemas_dir: Path) -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir)


@pytest.fixture
def dead_letters() -> MemoryDeadLetterStore:
    return MemoryDeadLetterStore()


@pytest.fixture
def make(
    registry: SchemaRegistry, dead_letters: MemoryDeadLetterStore
) -> Callable[[ScriptedSink], Handler]:
    def make(sink: ScriptedSink) -> Handler:
        route = VendorRoute(
            "acme", lambda _type: (1, lambda datum: {"id": datum["event_id"]}), sink
        )

        def build(context: InvocationContext) -> Pipeline:
            return Pipeline(registry, [route], dead_letters, retry_later=context.retry_later)

        return make_handler(build)

    return make


def page_viewed(**changes: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_viewed",
        "occurred_at": "2024-05-01T12:00:00Z",
        "source": "web",
        "anonymous_id": "anon-1",
        "context": {},
        "properties": {"path": "/", "url": "https://shop.example/"},
    } | changes


def test_invalid_events_become_dead_letters_and_are_not_retried(
    make: Callable[[ScriptedSink], Handler], dead_letters: MemoryDeadLetterStore
) -> None:
    sink = ScriptedSink(OutcomeKind.DELIVERED)
    valid, invalid = page_viewed(), page_viewed(properties={"path": "/"})

    response = make(sink)(events.sqs_event(valid, invalid), None)

    assert response == {"batchItemFailures": []}
    assert sink.delivered == [valid["event_id"]]
    [letter] = dead_letters.list()
    assert (letter.event_id, letter.route) == (invalid["event_id"], VALIDATION_ROUTE)


def test_a_body_that_is_not_json_is_dead_lettered_with_its_text(
    make: Callable[[ScriptedSink], Handler], dead_letters: MemoryDeadLetterStore
) -> None:
    response = make(ScriptedSink(OutcomeKind.DELIVERED))(events.sqs_event("oops, not JSON"), None)

    assert response == {"batchItemFailures": []}
    [letter] = dead_letters.list()
    assert letter.event == {"value": "oops, not JSON"}
    assert "must be a JSON object" in letter.reason


def test_a_transient_vendor_failure_is_left_for_sqs_to_deliver_again(
    make: Callable[[ScriptedSink], Handler], dead_letters: MemoryDeadLetterStore
) -> None:
    response = make(ScriptedSink(OutcomeKind.RETRY_LATER))(events.sqs_event(page_viewed()), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": events.message_id(0)}]}
    assert dead_letters.count() == 0


def test_a_transient_vendor_failure_behind_api_gateway_is_kept_as_a_dead_letter(
    make: Callable[[ScriptedSink], Handler], dead_letters: MemoryDeadLetterStore
) -> None:
    event = page_viewed()

    response = make(ScriptedSink(OutcomeKind.RETRY_LATER))(events.api_v2_event(event), None)

    assert response["statusCode"] == 202
    assert http_body(response)["results"][0]["status"] == "dead_lettered"
    [letter] = dead_letters.list()
    assert letter.event_id == event["event_id"]


def test_an_invalid_event_behind_api_gateway_is_400_naming_the_problem(
    make: Callable[[ScriptedSink], Handler],
) -> None:
    response = make(ScriptedSink(OutcomeKind.DELIVERED))(
        events.api_v1_event([page_viewed(), page_viewed(properties={"path": "/"})]), None
    )

    body = http_body(response)
    assert response["statusCode"] == 400
    assert body["accepted"] == 1
    [error] = body["errors"]
    assert error["index"] == 1
    assert any("properties.url" in problem for problem in error["problems"])
