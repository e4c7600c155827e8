"""TokenBucket and CircuitBreaker on an injected clock."""

from __future__ import annotations

import pytest

from martech_bus.errors import ConfigError, TransientDeliveryError
from martech_bus.ratelimit import CircuitBreaker, CircuitOpenError, CircuitState, TokenBucket
from tests.delivery.helpers import FakeTime


def bucket(time: FakeTime, rate: float = 2.0, burst: float = 3.0) -> TokenBucket:
    return TokenBucket(rate, burst, time.clock, time.sleep)


def breaker(time: FakeTime, threshold: int = 3, reset: float = 30.0) -> CircuitBreaker:
    return CircuitBreaker(threshold, reset, time.clock, name="acme")


def test_a_full_bucket_serves_its_burst_without_waiting(fake_time: FakeTime) -> None:
    tokens = bucket(fake_time)
    assert [tokens.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert fake_time.sleeps == []


def test_acquire_sleeps_until_the_next_token_is_due(fake_time: FakeTime) -> None:
    tokens = bucket(fake_time, rate=2.0, burst=1)
    tokens.acquire()
    tokens.acquire()
    tokens.acquire()
    assert fake_time.sleeps == pytest.approx([0.5, 0.5])


def test_try_acquire_refuses_without_taking_or_waiting(fake_time: FakeTime) -> None:
    tokens = bucket(fake_time, rate=1.0, burst=1)
    assert tokens.try_acquire() is True
    assert tokens.try_acquire() is False
    assert fake_time.sleeps == []
    fake_time.advance(1.0)
    assert tokens.try_acquire() is True


def test_tokens_refill_at_the_rate_up_to_the_burst(fake_time: FakeTime) -> None:
    tokens = bucket(fake_time, rate=2.0, burst=3)
    assert tokens.try_acquire(3)
    fake_time.advance(100.0)
    assert tokens.try_acquire(3)
    assert not tokens.try_acquire(1)


def test_asking_for_more_than_the_burst_is_an_error(fake_time: FakeTime) -> None:
    with pytest.raises(ValueError, match="cannot take 4"):
        bucket(fake_time, burst=3).acquire(4)


def test_a_bucket_needs_a_positive_rate(fake_time: FakeTime) -> None:
    with pytest.raises(ConfigError, match="rate_per_second"):
        TokenBucket(0, 1, fake_time.clock, fake_time.sleep)


def test_a_circuit_opens_after_the_threshold_of_consecutive_failures(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=3)
    states = []
    for _ in range(3):
        circuit.record_failure()
        states.append(circuit.state)
    assert states == [CircuitState.CLOSED, CircuitState.CLOSED, CircuitState.OPEN]


def test_a_success_resets_the_consecutive_failure_count(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=2)
    circuit.record_failure()
    circuit.record_success()
    circuit.record_failure()
    assert circuit.state is CircuitState.CLOSED


def test_an_open_circuit_fails_fast_with_a_transient_error(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=1)
    circuit.record_failure()
    with pytest.raises(CircuitOpenError, match="acme") as raised:
        circuit.check()
    assert isinstance(raised.value, TransientDeliveryError)


def test_after_the_reset_timeout_one_trial_call_goes_through(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=1, reset=30.0)
    circuit.record_failure()
    fake_time.advance(30.0)
    assert circuit.state is CircuitState.HALF_OPEN
    circuit.check()  # the trial
    with pytest.raises(CircuitOpenError):
        circuit.check()  # a second caller while the trial is out


def test_a_successful_trial_closes_the_circuit(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=1)
    circuit.record_failure()
    fake_time.advance(30.0)
    circuit.check()
    circuit.record_success()
    assert circuit.state is CircuitState.CLOSED
    circuit.check()
    circuit.check()


def test_a_failed_trial_opens_the_circuit_again(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=3)
    for _ in range(3):
        circuit.record_failure()
    fake_time.advance(30.0)
    circuit.check()
    circuit.record_failure()
    assert circuit.state is CircuitState.OPEN
    fake_time.advance(29.0)
    with pytest.raises(CircuitOpenError):
        circuit.check()


def test_a_trial_that_never_reports_back_expires(fake_time: FakeTime) -> None:
    circuit = breaker(fake_time, threshold=1, reset=30.0)
    circuit.record_failure()
    fake_time.advance(30.0)
    circuit.check()  # its caller crashes and never reports
    fake_time.advance(30.0)
    circuit.check()  # a new trial is allowed
