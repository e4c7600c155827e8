"""A fake clock for tests that must never really wait (ours and users')."""

from __future__ import annotations

#: A whole second, so HTTP-dates (1 s resolution) built from it are exact: 2023-11-14T22:13:20Z.
START = 1_700_000_000.0


class FakeTime:
    """An injected clock and sleep: sleeping records the delay and moves the clock; nothing waits.

    Pass ``clock=fake.clock, sleep=fake.sleep`` (epoch seconds, like ``time.time``).
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    __call__ = clock

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without anyone sleeping (a visibility timeout, a TTL)."""
        self.now += seconds
