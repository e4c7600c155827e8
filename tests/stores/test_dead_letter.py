"""Building a dead letter from a sink's outcome, and its stored JSON form."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from martech_bus import redaction as redact
from martech_bus.schema.validate import validator_for
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind
from martech_bus.sinks.dlq import BUS, DIRECT, DeadLetter, DeadLetterError, new_id
from tests.schema.events import catalogue, order_completed_json
from tests.stores.conftest import T0


@pytest.fixture(scope="module")
def order() -> dict[str, Any]:
    """A real order_completed event in datum form."""
    return validator_for(catalogue().get("order_completed", 2)).validate(order_completed_json())


def delivery(event: dict[str, Any] | None = None) -> Delivery:
    return Delivery("evt-1", "braze", 4, {"external_id": "u1"}, event or {"event_id": "evt-1"})


def test_from_outcome_reads_the_http_sinks_detail() -> None:
    outcome = Outcome(
        "evt-1",
        OutcomeKind.DEAD_LETTERED,
        reason="retries exhausted",
        attempts=5,
        detail={
            "request": {
                "method": "POST",
                "url": "https://api.braze.test/users/track",
                "body": b"{}",
            },
            "response": {"status": 503, "headers": {"Retry-After": "30"}, "body": "busy"},
            "attempts": 5,
            "first_attempt_at": "2024-05-17T09:00:00+00:00",
            "last_attempt_at": T0.timestamp() + 60,
            "error": TimeoutError("read timed out"),
        },
    )
    record = DeadLetter.from_outcome(delivery(), outcome, route=BUS, now=T0 + timedelta(minutes=2))
    assert (record.event_id, record.vendor, record.mapping_version, record.route) == (
        "evt-1",
        "braze",
        4,
        BUS,
    )
    assert record.reason == "retries exhausted"
    assert record.error == "TimeoutError: read timed out"
    assert record.status_code == 503  # from the response when the outcome has none
    assert record.attempts == 5
    assert record.first_attempt_at == T0
    assert record.last_attempt_at == T0 + timedelta(minutes=1)
    assert record.dead_lettered_at == T0 + timedelta(minutes=2)
    assert record.request == {
        "method": "POST",
        "url": "https://api.braze.test/users/track",
        "body": "{}",
    }
    assert record.response == {"status": 503, "headers": {"Retry-After": "30"}, "body": "busy"}
    assert (record.replayed_at, record.replay_count) == (None, 0)


def test_the_http_sinks_detail_shape_is_kept_whole() -> None:
    """As sinks/http.py documents it: epoch seconds, ``***`` values, extra keys."""
    detail = {
        "request": {
            "method": "POST",
            "url": "https://graph.test/v19/1/events?access_token=***",
            "headers": {"authorization": "***", "content-type": "application/json"},
        },
        "response": {"status": 400, "headers": {}, "body": "{}", "body_truncated": False},
        "attempts": 1,
        "first_attempt_at": T0.timestamp(),
        "last_attempt_at": T0.timestamp(),
        "error": "HTTP 400",
        "gave_up": None,
        "retry_after": 2.5,
    }
    outcome = Outcome("evt-1", OutcomeKind.DEAD_LETTERED, "HTTP 400", 1, 400, detail)
    record = DeadLetter.from_outcome(delivery(), outcome, now=T0)
    assert record.request is not None and record.response is not None
    assert record.request["headers"] == {"content-type": "application/json"}
    assert record.response["body_truncated"] is False
    assert record.first_attempt_at == T0
    assert record.extra == {"gave_up": None, "retry_after": 2.5}
    assert DeadLetter.from_json(record.redacted().to_json()) == record


def test_from_outcome_falls_back_on_the_outcome_itself() -> None:
    outcome = Outcome("evt-1", OutcomeKind.DEAD_LETTERED, attempts=2, status_code=400)
    record = DeadLetter.from_outcome(delivery(), outcome, now=T0)
    assert (record.reason, record.status_code, record.attempts, record.route) == (
        "dead_lettered",
        400,
        2,
        DIRECT,
    )
    assert record.request is None and record.error is None


def test_a_long_body_is_cut_to_an_excerpt_that_says_so() -> None:
    outcome = Outcome(
        "evt-1",
        OutcomeKind.DEAD_LETTERED,
        detail={"response": {"status": 400, "body": "x" * 10_000}},
    )
    record = DeadLetter.from_outcome(delivery(), outcome, now=T0)
    assert record.response is not None
    body = record.response["body"]
    assert body.startswith("x" * redact.EXCERPT_LIMIT)
    assert body.endswith(f"... [{10_000 - redact.EXCERPT_LIMIT} more characters]")
    assert record.redacted() == record  # redacting again changes nothing


def test_an_outcome_about_another_event_is_refused() -> None:
    with pytest.raises(DeadLetterError, match="event evt-1: the outcome is about event 'evt-2'"):
        DeadLetter.from_outcome(delivery(), Outcome("evt-2", OutcomeKind.DEAD_LETTERED), now=T0)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(DeadLetterError, match="dead_lettered_at must be timezone-aware"):
        DeadLetter.from_outcome(
            delivery(), Outcome("evt-1", OutcomeKind.DEAD_LETTERED), now=datetime(2024, 5, 17)
        )


def test_ids_are_uuid7_and_sort_by_time() -> None:
    ids = [new_id(T0 + timedelta(milliseconds=ms)) for ms in (0, 1, 1000, 86_400_000)]
    assert ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert new_id(T0) != new_id(T0)


def test_the_stored_event_is_json_the_validator_accepts_and_reads_back_exactly(
    order: dict[str, Any],
) -> None:
    record = DeadLetter.from_outcome(
        delivery(order), Outcome("evt-1", OutcomeKind.DEAD_LETTERED), now=T0
    )
    stored = json.loads(record.to_json())
    assert stored["event"]["properties"]["total"] == "59.9700"  # the schema's scale
    assert stored["event"]["occurred_at"] == "2024-05-17T09:30:12.345000+00:00"
    # A replay can re-validate the JSON form against the schema...
    assert validator_for(catalogue().get("order_completed", 2)).validate(stored["event"]) == order
    # ...or restore the datum form exactly without it.
    assert DeadLetter.from_json(record.to_json()) == record


def test_an_unknown_format_or_a_broken_body_is_a_clear_error() -> None:
    body = json.loads(
        DeadLetter.from_outcome(
            delivery(), Outcome("evt-1", OutcomeKind.DEAD_LETTERED), now=T0
        ).to_json()
    )
    with pytest.raises(DeadLetterError, match="unknown dead-letter format 99"):
        DeadLetter.from_json(json.dumps({**body, "format": 99}))
    with pytest.raises(DeadLetterError, match="unreadable dead letter"):
        DeadLetter.from_json("{")
    with pytest.raises(DeadLetterError, match="unreadable dead letter"):
        DeadLetter.from_json(json.dumps({k: v for k, v in body.items() if k != "vendor"}))


def test_a_replayed_record_round_trips() -> None:
    record = DeadLetter.from_outcome(
        delivery(), Outcome("evt-1", OutcomeKind.DEAD_LETTERED), now=T0
    )
    replayed = replace(record, replayed_at=datetime(2024, 6, 1, tzinfo=UTC), replay_count=2)
    assert DeadLetter.from_json(replayed.to_json()) == replayed


def test_an_event_without_a_json_form_is_a_clear_error() -> None:
    record = DeadLetter.from_outcome(
        delivery({"event_id": "evt-1", "tags": {"a", "b"}}),
        Outcome("evt-1", OutcomeKind.DEAD_LETTERED),
        now=T0,
    )
    with pytest.raises(
        DeadLetterError, match="event evt-1: the event cannot be stored: a set value at /tags"
    ):
        record.to_json()
