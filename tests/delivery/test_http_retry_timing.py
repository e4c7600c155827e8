"""Retry-After (seconds and HTTP-date, capped), and the time budget, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from pytest_httpserver import HTTPServer

from martech_bus.retry import RetryPolicy
from martech_bus.sinks.base import OutcomeKind
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import START, FakeTime, delivery, upper_bound


def busy_once(httpserver: HTTPServer, retry_after: str, status: int = 429) -> None:
    httpserver.expect_ordered_request("/events").respond_with_data(
        "slow down", status=status, headers={"Retry-After": retry_after}
    )
    httpserver.expect_ordered_request("/events").respond_with_json({"ok": True})


def test_retry_after_in_seconds_is_honoured(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    busy_once(httpserver, "7")
    [outcome] = make_sink().deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DELIVERED
    assert fake_time.sleeps[0] >= 7.0


def test_retry_after_as_an_http_date_is_honoured(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    busy_once(httpserver, format_datetime(datetime.fromtimestamp(START + 9, UTC), usegmt=True), 503)
    [outcome] = make_sink().deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DELIVERED
    assert fake_time.sleeps[0] >= 9.0


def test_jitter_above_the_retry_after_is_kept(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    busy_once(httpserver, "1")
    make_sink(policy=RetryPolicy(base_delay=4.0), rng=upper_bound).deliver([delivery(1)])
    assert fake_time.sleeps == [4.0]


def test_a_retry_after_beyond_the_cap_leaves_the_event_for_later_without_sleeping(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    busy_once(httpserver, "600")
    [outcome] = make_sink(policy=RetryPolicy(retry_after_cap=120)).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (
        OutcomeKind.RETRY_LATER,
        1,
        429,
    )
    assert outcome.detail["retry_after"] == 600.0
    assert outcome.detail["gave_up"] == "Retry-After beyond the cap"
    assert fake_time.sleeps == []


def test_a_retry_after_past_the_budget_gives_up_without_sleeping(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    busy_once(httpserver, "90")
    [outcome] = make_sink(policy=RetryPolicy(budget=60)).deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.detail["gave_up"] == "time budget exhausted"
    assert fake_time.sleeps == []


def test_the_sink_never_sleeps_past_its_budget(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("down", status=502)
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=4.0, budget=10.0)
    [outcome] = make_sink(policy=policy).deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.detail["gave_up"] == "time budget exhausted"
    assert fake_time.now <= START + 10.0


def test_remaining_time_of_the_invocation_is_honoured(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("down", status=503)
    invocation_ends = START + 3.0  # with a 1 s safety margin, 2 s are left for sleeping
    sink = make_sink(
        policy=RetryPolicy(max_attempts=10, base_delay=1.0, safety_margin=1.0),
        rng=upper_bound,
        remaining_time=lambda: invocation_ends - fake_time.now,
    )
    [outcome] = sink.deliver([delivery(1)])
    assert fake_time.sleeps == [1.0]  # the next (2 s) would end at START + 3 > START + 2
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.attempts == 2
