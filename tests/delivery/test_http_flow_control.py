"""The sink with a circuit breaker and a token bucket sharing the injected clock."""

from __future__ import annotations

from pytest_httpserver import HTTPServer

from martech_bus.ratelimit import CircuitBreaker, CircuitState, TokenBucket
from martech_bus.retry import RetryPolicy
from martech_bus.sinks.base import OutcomeKind
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import FakeTime, deliveries, delivery


def test_an_open_circuit_stops_retries_and_leaves_events_for_later(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("down", status=503)
    circuit = CircuitBreaker(2, 30.0, fake_time.clock, name="acme")
    sink = make_sink(breaker=circuit, policy=RetryPolicy(max_attempts=6))
    [outcome] = sink.deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts) == (OutcomeKind.RETRY_LATER, 2)
    assert outcome.reason is not None and "circuit for acme is open" in outcome.reason
    assert len(httpserver.log) == 2
    assert circuit.state is CircuitState.OPEN


def test_an_open_circuit_sends_nothing(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    circuit = CircuitBreaker(1, 30.0, fake_time.clock)
    circuit.record_failure()
    outcomes = make_sink(breaker=circuit).deliver(deliveries(3))
    assert [(o.kind, o.attempts) for o in outcomes] == [(OutcomeKind.RETRY_LATER, 0)] * 3
    assert httpserver.log == []
    assert fake_time.sleeps == []


def test_a_successful_trial_after_the_reset_timeout_closes_the_circuit(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_json({"ok": True})
    circuit = CircuitBreaker(1, 30.0, fake_time.clock)
    circuit.record_failure()
    fake_time.advance(30.0)
    [outcome] = make_sink(breaker=circuit).deliver([delivery(1)])
    assert outcome.kind is OutcomeKind.DELIVERED
    assert circuit.state is CircuitState.CLOSED


def test_a_terminal_answer_counts_as_the_vendor_being_up(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_data("bad", status=400)
    circuit = CircuitBreaker(1, 30.0, fake_time.clock)
    make_sink(breaker=circuit).deliver(deliveries(3))
    assert circuit.state is CircuitState.CLOSED
    assert len(httpserver.log) == 3


def test_the_token_bucket_paces_requests_with_the_injected_sleep(
    httpserver: HTTPServer, make_sink: MakeSink, fake_time: FakeTime
) -> None:
    httpserver.expect_request("/events").respond_with_json({"ok": True})
    bucket = TokenBucket(4.0, 1, fake_time.clock, fake_time.sleep)
    outcomes = make_sink(rate_limiter=bucket).deliver(deliveries(3))
    assert {o.kind for o in outcomes} == {OutcomeKind.DELIVERED}
    assert fake_time.sleeps == [0.25, 0.25]
