"""Retry is data: a ``RetryPolicy`` value built into a tenacity ``Retrying``.

The rules (REFERENCE.md, "HTTP delivery to vendors"): full jitter
``uniform(0, min(max_delay, base_delay * 2**n))``; a ``Retry-After`` in either
form is honoured (never retry earlier) and capped (a longer one gives up at once
so the caller can leave the event for later); a time budget, optionally shortened
by the caller's ``remaining_time()`` (a Lambda invocation), is never overrun by a
sleep.

Wrap one request (one HTTP call, one batch), never per-event work: a call through
tenacity costs ~20 µs even when the first attempt succeeds. tenacity itself is
imported on first use (~48 ms of cold start) so building a policy stays cheap.

Sleep, clock and random source are always injected in tests. The clock is
wall-clock seconds since the epoch because an HTTP-date ``Retry-After`` is absolute.
"""

from __future__ import annotations

import contextlib
import enum
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from martech_bus.errors import ConfigError, Location, MartechBusError, is_transient

if TYPE_CHECKING:
    import tenacity

T = TypeVar("T")

Sleep = Callable[[float], None]
Clock = Callable[[], float]
Uniform = Callable[[float, float], float]
"""``random.uniform``-shaped: a float in [a, b]."""
RemainingTime = Callable[[], float]
"""Seconds left to the caller (e.g. ``lambda: context.get_remaining_time_in_millis() / 1000``)."""

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# 2**60 times any sane base delay is far past any cap; the clamp only avoids float overflow.
_MAX_EXPONENT = 60


class GiveUp(enum.StrEnum):
    """Why retrying stopped while the last attempt was still worth retrying."""

    ATTEMPTS = "attempts exhausted"
    BUDGET = "time budget exhausted"
    RETRY_AFTER = "Retry-After beyond the cap"


def _never(_: Any) -> bool:
    return False


def _no_retry_after(_: Any) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one request is retried. Durations are seconds.

    ``safety_margin`` is subtracted from ``remaining_time()``: keep it above one
    request's timeout so the last attempt also ends inside the invocation.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget: float = 60.0
    retry_after_cap: float = 120.0
    safety_margin: float = 2.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES

    def __post_init__(self) -> None:
        _check_int("max_attempts", self.max_attempts, minimum=1)
        for name in ("base_delay", "max_delay", "budget", "retry_after_cap", "safety_margin"):
            # object.__setattr__: a frozen dataclass may still normalise its own fields.
            object.__setattr__(self, name, _check_seconds(name, getattr(self, name)))
        object.__setattr__(self, "retry_statuses", _check_statuses(self.retry_statuses))

    def with_overrides(self, **overrides: Any) -> RetryPolicy:
        """A copy with some settings replaced (an adapter manifest's ``retry:`` section)."""
        known = {f.name for f in fields(self)}
        for key in overrides:
            if key not in known:
                raise ConfigError(
                    f"unknown retry setting {key!r}; known settings: {', '.join(sorted(known))}",
                    location=Location(path=f"retry.{key}"),
                )
        return replace(self, **overrides)

    def backoff(self, attempt: int, rng: Uniform) -> float:
        """Full jitter before retry number ``attempt`` (1 = the first retry)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return rng(0.0, min(self.max_delay, self.base_delay * 2**exponent))

    def retrying(
        self,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        rng: Uniform = random.uniform,
        remaining_time: RemainingTime | None = None,
        retry_result: Callable[[Any], bool] = _never,
        retry_after: Callable[[Any], str | None] = _no_retry_after,
        retry_error: Callable[[BaseException], bool] = is_transient,
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` applying this policy (raises ``tenacity.RetryError`` on giving up).

        ``retry_result`` says whether a returned value should be retried (a 503
        response) and ``retry_after`` reads its ``Retry-After`` header value.
        Errors are retried when ``retry_error`` says so (default: TransientError).
        """
        rules = _Rules(self, clock, rng, remaining_time, retry_result, retry_after, retry_error)
        return rules.build(sleep)

    def run(
        self,
        attempt: Callable[[], T],
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        rng: Uniform = random.uniform,
        remaining_time: RemainingTime | None = None,
        retry_result: Callable[[T], bool] = _never,
        retry_after: Callable[[T], str | None] = _no_retry_after,
        retry_error: Callable[[BaseException], bool] = is_transient,
    ) -> Attempts[T]:
        """Call ``attempt`` under this policy and report what happened; never raises a MartechBusError.

        Other exceptions (bugs) propagate unchanged.
        """
        record = _Record[T](clock)
        rules = _Rules(self, clock, rng, remaining_time, retry_result, retry_after, retry_error)
        # Giving up returns quietly: the record already holds the last result or error.
        retrying = rules.build(record.sleeping(sleep), on_give_up=_ignore)
        with contextlib.suppress(MartechBusError):  # not worth retrying: recorded as the last error
            retrying(record.calling(attempt))
        return record.attempts(rules.gave_up, rules.retry_after)


def _ignore(_: Any) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Attempts(Generic[T]):
    """What ``RetryPolicy.run`` did: the last result or error, and why it stopped retrying."""

    count: int
    result: T | None
    error: MartechBusError | None
    gave_up: GiveUp | None  # None: the last attempt succeeded or was not worth retrying
    first_attempt_at: float
    last_attempt_at: float
    slept: float
    retry_after: float | None  # the last Retry-After, in seconds from when it was read


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class _Rules(Generic[T]):
    """One run's retry/wait/stop decisions, reading the injected clock (not tenacity's)."""

    def __init__(
        self,
        policy: RetryPolicy,
        clock: Clock,
        rng: Uniform,
        remaining_time: RemainingTime | None,
        retry_result: Callable[[T], bool],
        retry_after: Callable[[T], str | None],
        retry_error: Callable[[BaseException], bool],
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.remaining_time = remaining_time
        self.retry_result = retry_result
        self.read_retry_after = retry_after
        self.retry_error = retry_error
        self.budget_ends = math.inf
        self.gave_up: GiveUp | None = None
        self.retry_after: float | None = None

    def build(
        self, sleep: Sleep, on_give_up: Callable[[tenacity.RetryCallState], Any] | None = None
    ) -> tenacity.Retrying:
        import tenacity

        return tenacity.Retrying(
            sleep=sleep,
            before=self.before,
            retry=self.retry,
            wait=self.wait,
            stop=self.stop,
            retry_error_callback=on_give_up,
        )

    def before(self, state: tenacity.RetryCallState) -> None:
        if state.attempt_number == 1:  # a new run: the budget starts now
            self.budget_ends = self.clock() + self.policy.budget
            self.gave_up = None
            self.retry_after = None

    def retry(self, state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None  # tenacity asks only after an attempt
        error = outcome.exception()
        if error is not None:
            return self.retry_error(error)
        worth_it: bool = self.retry_result(outcome.result())
        return worth_it

    def wait(self, state: tenacity.RetryCallState) -> float:
        self.retry_after = self._server_delay(state)
        jitter = self.policy.backoff(state.attempt_number, self.rng)
        # Never earlier than the server said; jitter still spreads clients out beyond it.
        return max(jitter, self.retry_after or 0.0)

    def stop(self, state: tenacity.RetryCallState) -> bool:
        self.gave_up = self._reason_to_stop(state)
        return self.gave_up is not None

    def _server_delay(self, state: tenacity.RetryCallState) -> float | None:
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return None
        return parse_retry_after(self.read_retry_after(outcome.result()), self.clock())

    def _reason_to_stop(self, state: tenacity.RetryCallState) -> GiveUp | None:
        if state.attempt_number >= self.policy.max_attempts:
            return GiveUp.ATTEMPTS
        if self.retry_after is not None and self.retry_after > self.policy.retry_after_cap:
            return GiveUp.RETRY_AFTER
        if self.clock() + state.upcoming_sleep > self._deadline():
            return GiveUp.BUDGET
        return None

    def _deadline(self) -> float:
        if self.remaining_time is None:
            return self.budget_ends
        caller_ends = self.clock() + self.remaining_time() - self.policy.safety_margin
        return min(self.budget_ends, caller_ends)


class _Record(Generic[T]):
    """Counts attempts, times them with the injected clock, and keeps the last outcome."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.count = 0
        self.first_at = self.last_at = 0.0
        self.slept = 0.0
        self.result: T | None = None
        self.error: MartechBusError | None = None

    def calling(self, attempt: Callable[[], T]) -> Callable[[], T]:
        def call() -> T:
            self.last_at = self.clock()
            if self.count == 0:
                self.first_at = self.last_at
            self.count += 1
            self.result, self.error = None, None
            try:
                result = attempt()
            except MartechBusError as error:
                self.error = error
                raise
            self.result = result
            return result

        return call

    def sleeping(self, sleep: Sleep) -> Sleep:
        def counted(seconds: float) -> None:
            self.slept += float(seconds)
            sleep(float(seconds))  # tenacity passes a float subclass; callers get a plain float

        return counted

    def attempts(self, gave_up: GiveUp | None, retry_after: float | None) -> Attempts[T]:
        return Attempts(
            count=self.count,
            result=self.result,
            error=self.error,
            gave_up=gave_up,
            first_attempt_at=self.first_at,
            last_attempt_at=self.last_at,
            slept=self.slept,
            retry_after=retry_after,
        )


def _config_error(name: str, message: str) -> ConfigError:
    return ConfigError(f"retry setting {name!r} {message}", location=Location(path=f"retry.{name}"))


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _config_error(name, f"must be an integer >= {minimum}, got {value!r}")


def _check_seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise _config_error(name, f"must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _check_statuses(value: object) -> frozenset[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _config_error("retry_statuses", f"must be a list of HTTP statuses, got {value!r}")
    statuses = list(value)
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise _config_error("retry_statuses", f"holds {status!r}, not an HTTP status")
    return frozenset(statuses)


__all__ = [
    "RETRYABLE_STATUSES",
    "Attempts",
    "GiveUp",
    "RetryPolicy",
    "parse_retry_after",
]
