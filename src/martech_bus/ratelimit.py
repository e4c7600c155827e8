"""Per-vendor flow control: a token bucket (rate limit) and a circuit breaker.

Both take an injected clock (monotonic seconds) and are safe to share between
threads. Neither talks to the network: the HTTP sink calls them around each request.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable

from martech_bus.errors import ConfigError, TransientDeliveryError

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Refills are float arithmetic: after sleeping exactly the computed wait, the
# bucket may hold 0.9999999999 tokens. Tolerate that instead of waiting again.
_EPSILON = 1e-9


class TokenBucket:
    """``rate_per_second`` tokens a second, holding at most ``burst``; one request costs one token.

    ``acquire`` reserves tokens up front, letting the bucket go into debt, and
    sleeps once for the debt: no polling loop, and concurrent callers queue fairly.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if not rate_per_second > 0:
            raise ConfigError(f"rate_per_second must be > 0, got {rate_per_second!r}")
        if not burst >= 1:
            raise ConfigError(f"burst must be >= 1, got {burst!r}")
        self.rate = float(rate_per_second)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` tokens if they are there now; never waits."""
        self._check(n)
        with self._lock:
            self._refill()
            if self._tokens + _EPSILON < n:
                return False
            self._tokens -= n
            return True

    def acquire(self, n: float = 1) -> float:
        """Take ``n`` tokens, sleeping (injected sleep) until they are due; returns the wait."""
        self._check(n)
        with self._lock:
            self._refill()
            self._tokens -= n
            wait = max(0.0, -self._tokens / self.rate)
        if wait > 0:
            self._sleep(wait)
        return wait

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def _check(self, n: float) -> None:
        if not 0 < n <= self.burst:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.burst:g}")


class CircuitState(enum.StrEnum):
    """Closed: calls pass. Open: calls fail fast. Half-open: one trial call may pass."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(TransientDeliveryError):
    """The vendor's circuit is open: not sent, keep the event (buffer or DLQ) and try later."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive transient failures; probes after ``reset_timeout``.

    Callers ``check()`` before a request, then report it with ``record_success()``
    (any answer that is not a transient failure, a 4xx included: the vendor is up)
    or ``record_failure()``.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Clock = time.monotonic,
        *,
        name: str = "vendor",
    ) -> None:
        if failure_threshold < 1:
            raise ConfigError(f"failure_threshold must be >= 1, got {failure_threshold!r}")
        if not reset_timeout >= 0:
            raise ConfigError(f"reset_timeout must be >= 0, got {reset_timeout!r}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = float(reset_timeout)
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_at: float | None = None

    @property
    def state(self) -> CircuitState:
        with self._lock:
            return self._state(self._clock())

    def check(self) -> None:
        """Let a call through, or raise CircuitOpenError. Half-open admits one trial at a time."""
        with self._lock:
            now = self._clock()
            state = self._state(now)
            if state is CircuitState.CLOSED:
                return
            # A trial that never reported back (its caller crashed) expires after
            # reset_timeout, so the breaker cannot stay half-open forever.
            if state is CircuitState.HALF_OPEN and (
                self._trial_at is None or now - self._trial_at >= self.reset_timeout
            ):
                self._trial_at = now
                return
            raise CircuitOpenError(
                f"circuit for {self.name} is {state}: {self._failures} consecutive transient "
                f"failures; not sending until a trial call succeeds"
            )

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = self._trial_at = None

    def record_failure(self) -> None:
        with self._lock:
            now = self._clock()
            self._failures += 1
            # A failed trial re-opens at once; a closed circuit opens at the threshold.
            if self._opened_at is not None or self._failures >= self.failure_threshold:
                self._opened_at, self._trial_at = now, None

    def _state(self, now: float) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if now - self._opened_at >= self.reset_timeout:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN


__all__ = ["CircuitBreaker", "CircuitOpenError", "CircuitState", "TokenBucket"]
