"""RetryPolicy: full jitter, Retry-After, the time budget, and the Attempts record."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
import tenacity

from martech_bus.errors import ConfigError, TerminalDeliveryError, TransientDeliveryError
from martech_bus.retry import RETRYABLE_STATUSES, Attempts, GiveUp, RetryPolicy, parse_retry_after
from tests.delivery.helpers import START, FakeTime, upper_bound


def failing(times: int, then: str = "ok") -> Callable[[], str]:
    """A request that fails transiently ``times`` times, then returns ``then``."""
    calls = iter(range(times + 1))

    def attempt() -> str:
        if next(calls) < times:
            raise TransientDeliveryError("vendor unavailable")
        return then

    return attempt


def run(
    policy: RetryPolicy, attempt: Callable[[], str], time: FakeTime, **kwargs: Any
) -> Attempts[str]:
    return policy.run(attempt, sleep=time.sleep, clock=time.clock, **kwargs)


def busy_then_ok(time: FakeTime, retry_after: str) -> Attempts[str]:
    """A vendor that answers "busy" (with a Retry-After) once, then "ok"."""
    answers = iter(["busy", "ok"])
    return RetryPolicy(retry_after_cap=120.0).run(
        lambda: next(answers),
        sleep=time.sleep,
        clock=time.clock,
        retry_result=lambda answer: answer == "busy",
        retry_after=lambda answer: retry_after if answer == "busy" else None,
    )


def test_the_defaults_follow_the_reference_rules() -> None:
    policy = RetryPolicy()
    assert policy.retry_statuses == {408, 425, 429, 500, 502, 503, 504} == RETRYABLE_STATUSES
    assert (policy.max_attempts, policy.base_delay, policy.max_delay) == (6, 0.5, 30.0)
    assert (policy.budget, policy.retry_after_cap) == (60.0, 120.0)


def test_overrides_replace_settings_and_accept_a_list_of_statuses() -> None:
    policy = RetryPolicy().with_overrides(max_attempts=3, base_delay=1, retry_statuses=[429, 503])
    assert policy.max_attempts == 3
    assert policy.base_delay == 1.0
    assert policy.retry_statuses == frozenset({429, 503})


def test_an_unknown_override_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="max_attempt'") as raised:
        RetryPolicy().with_overrides(max_attempt=3)
    assert raised.value.location.path == "retry.max_attempt"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", 2.5),
        ("base_delay", -1),
        ("budget", "60"),
        ("retry_after_cap", True),
        ("retry_statuses", [429, 99]),
        ("retry_statuses", "429"),
    ],
)
def test_a_bad_override_value_is_a_config_error_naming_the_setting(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        RetryPolicy().with_overrides(**{key: value})


def test_full_jitter_draws_between_zero_and_the_capped_exponential() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=5.0)
    drawn: list[tuple[float, float]] = []

    def rng(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    for attempt in range(1, 7):
        policy.backoff(attempt, rng)
    assert drawn == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 5.0), (0.0, 5.0)]


def test_full_jitter_sleeps_stay_within_bounds_with_a_seeded_rng() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    rng = random.Random(42).uniform
    for attempt in range(1, 12):
        for _ in range(50):
            assert 0.0 <= policy.backoff(attempt, rng) <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_does_not_overflow_after_many_attempts() -> None:
    assert RetryPolicy(max_delay=30.0).backoff(5000, upper_bound) == 30.0


def test_retry_after_in_seconds_is_parsed() -> None:
    assert parse_retry_after(" 120 ", now=START) == 120.0


def test_retry_after_as_an_http_date_is_relative_to_the_clock() -> None:
    later = format_datetime(datetime.fromtimestamp(START + 42, UTC), usegmt=True)
    assert parse_retry_after(later, now=START) == 42.0


def test_retry_after_in_the_past_means_now() -> None:
    earlier = format_datetime(datetime.fromtimestamp(START - 42, UTC), usegmt=True)
    assert parse_retry_after(earlier, now=START) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3"])
def test_an_unusable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=START) is None


def test_a_first_success_is_one_attempt_without_sleeping(fake_time: FakeTime) -> None:
    attempts = run(RetryPolicy(), failing(0), fake_time)
    assert (attempts.count, attempts.result, attempts.error, attempts.gave_up) == (
        1,
        "ok",
        None,
        None,
    )
    assert fake_time.sleeps == []


def test_a_transient_error_is_retried_until_success(fake_time: FakeTime) -> None:
    attempts = run(RetryPolicy(), failing(2), fake_time, rng=upper_bound)
    assert attempts.count == 3
    assert attempts.result == "ok"
    assert fake_time.sleeps == [0.5, 1.0]
    assert attempts.slept == 1.5


def test_a_terminal_error_is_not_retried(fake_time: FakeTime) -> None:
    def attempt() -> str:
        raise TerminalDeliveryError("bad request")

    attempts = run(RetryPolicy(), attempt, fake_time)
    assert attempts.count == 1
    assert isinstance(attempts.error, TerminalDeliveryError)
    assert attempts.gave_up is None
    assert fake_time.sleeps == []


def test_an_unexpected_exception_propagates_as_a_bug(fake_time: FakeTime) -> None:
    def attempt() -> str:
        raise KeyError("not a delivery failure")

    with pytest.raises(KeyError):
        run(RetryPolicy(), attempt, fake_time)


def test_attempts_run_out_after_max_attempts(fake_time: FakeTime) -> None:
    attempts = run(RetryPolicy(max_attempts=4), failing(10), fake_time)
    assert attempts.count == 4
    assert attempts.gave_up is GiveUp.ATTEMPTS
    assert isinstance(attempts.error, TransientDeliveryError)
    assert len(fake_time.sleeps) == 3


def test_attempt_timestamps_come_from_the_injected_clock(fake_time: FakeTime) -> None:
    attempts = run(RetryPolicy(), failing(2), fake_time, rng=upper_bound)
    assert attempts.first_attempt_at == START
    assert attempts.last_attempt_at == START + 1.5


def test_no_sleep_ends_after_the_budget(fake_time: FakeTime) -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=4.0, max_delay=100.0, budget=10.0)
    attempts = run(policy, failing(10), fake_time, rng=upper_bound)
    assert fake_time.sleeps == [4.0]  # the next sleep (8 s) would end at 12 s > 10 s
    assert attempts.gave_up is GiveUp.BUDGET
    assert attempts.count == 2


def test_the_budget_holds_for_any_jitter(fake_time: FakeTime) -> None:
    policy = RetryPolicy(max_attempts=50, base_delay=1.0, max_delay=8.0, budget=20.0)
    rng = random.Random(7).uniform
    for _ in range(20):
        started = fake_time.now
        attempts = run(policy, failing(100), fake_time, rng=rng)
        assert fake_time.now <= started + 20.0
        assert attempts.gave_up is GiveUp.BUDGET


def test_remaining_time_shortens_the_budget_by_the_safety_margin(fake_time: FakeTime) -> None:
    ends = START + 5.0  # the invocation ends 5 s from now; margin 2 s leaves 3 s for sleeping
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, safety_margin=2.0)
    attempts = run(
        policy, failing(10), fake_time, rng=upper_bound, remaining_time=lambda: ends - fake_time.now
    )
    assert fake_time.sleeps == [1.0, 2.0]  # a further 4 s sleep would pass START + 3
    assert attempts.gave_up is GiveUp.BUDGET


def test_a_retried_result_waits_at_least_its_retry_after(fake_time: FakeTime) -> None:
    attempts = busy_then_ok(fake_time, retry_after="30")
    assert attempts.result == "ok"
    assert fake_time.sleeps[0] >= 30.0
    assert attempts.retry_after == 30.0


def test_a_retry_after_beyond_the_cap_gives_up_without_sleeping(fake_time: FakeTime) -> None:
    attempts = busy_then_ok(fake_time, retry_after="121")
    assert attempts.result == "busy"
    assert attempts.gave_up is GiveUp.RETRY_AFTER
    assert fake_time.sleeps == []


def test_retrying_is_a_tenacity_object_that_raises_when_it_gives_up(fake_time: FakeTime) -> None:
    retrying = RetryPolicy(max_attempts=2).retrying(sleep=fake_time.sleep, clock=fake_time.clock)
    assert isinstance(retrying, tenacity.Retrying)
    with pytest.raises(tenacity.RetryError):
        retrying(failing(5))
    assert retrying(failing(1)) == "ok"  # reusable: each call starts a fresh budget
