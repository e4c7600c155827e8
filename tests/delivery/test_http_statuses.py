"""HTTP statuses: retryable ones are retried, the others dead-lettered with a DLQ-ready detail."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from martech_bus.retry import RETRYABLE_STATUSES, RetryPolicy
from martech_bus.sinks.base import OutcomeKind
from martech_bus.sinks.http import BODY_EXCERPT_BYTES
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import START, FakeTime, delivery, upper_bound

DETAIL_KEYS = {
    "request",
    "response",
    "attempts",
    "first_attempt_at",
    "last_attempt_at",
    "error",
    "gave_up",
    "retry_after",
}


def test_a_2xx_answer_is_delivered(httpserver: HTTPServer, make_sink: MakeSink) -> None:
    httpserver.expect_request("/events", method="POST").respond_with_json({"ok": True}, status=202)
    [outcome] = make_sink().deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (OutcomeKind.DELIVERED, 1, 202)
    assert outcome.event_id == "evt-1"


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_a_retryable_status_is_retried(
    status: int, httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_ordered_request("/events").respond_with_data("busy", status=status)
    httpserver.expect_ordered_request("/events").respond_with_json({"ok": True})
    [outcome] = make_sink().deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (OutcomeKind.DELIVERED, 2, 200)
    assert len(fake_time.sleeps) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 501])
def test_a_non_retryable_status_is_dead_lettered_after_one_request(
    status: int, httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("no", status=status)
    [outcome] = make_sink().deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (
        OutcomeKind.DEAD_LETTERED,
        1,
        status,
    )
    assert len(httpserver.log) == 1
    assert fake_time.sleeps == []


def test_a_redirect_is_not_followed_and_is_terminal(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events").respond_with_data(
        "", status=302, headers={"Location": "/elsewhere"}
    )
    [outcome] = make_sink().deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DEAD_LETTERED


def test_retries_running_out_leave_the_event_for_later(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("down", status=503)
    [outcome] = make_sink(policy=RetryPolicy(max_attempts=3)).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (
        OutcomeKind.RETRY_LATER,
        3,
        503,
    )
    assert outcome.detail["gave_up"] == "attempts exhausted"
    assert len(httpserver.log) == 3
    assert len(fake_time.sleeps) == 2


def test_a_dead_letter_detail_holds_what_the_dlq_record_needs(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_ordered_request("/events").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/events").respond_with_json(
        {"error": "invalid payload"},
        status=400,
        headers={"Set-Cookie": "session=abc", "X-Request-Id": "r-1"},
    )
    sink = make_sink(policy=RetryPolicy(), rng=upper_bound, params={"region": "eu"})
    [outcome] = sink.deliver([delivery(1)])
    detail = outcome.detail
    assert set(detail) == DETAIL_KEYS
    assert detail["request"]["method"] == "POST"
    assert detail["request"]["url"] == httpserver.url_for("/events") + "?region=eu"
    assert detail["request"]["headers"]["content-type"] == "application/json"
    assert detail["response"]["status"] == 400
    assert detail["response"]["headers"]["x-request-id"] == "r-1"
    assert "set-cookie" not in detail["response"]["headers"]
    assert json.loads(detail["response"]["body"]) == {"error": "invalid payload"}
    assert detail["attempts"] == 2
    assert (detail["first_attempt_at"], detail["last_attempt_at"]) == (START, START + 0.5)
    assert detail["error"] == "HTTP 400 BAD REQUEST"
    assert detail["gave_up"] is None
    json.dumps(detail)  # JSON-ready for the DLQ


def test_the_response_body_excerpt_is_at_most_2_kib(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events").respond_with_response(Response("x" * 10_000, status=422))
    [outcome] = make_sink().deliver([delivery(1)])
    response = outcome.detail["response"]
    assert len(response["body"].encode()) == BODY_EXCERPT_BYTES
    assert response["body_truncated"] is True
