"""Probes: what measures the buffer, the dead-letter store and the quarantine for ``Metrics``.

Each function returns a ``Probe`` for ``Metrics.add_probe``; the registry runs it
before every snapshot (at most every ``min_interval`` seconds), so the gauges are
as fresh as the scrape or the EMF flush that reads them. The stores are typed by
the few methods a probe calls, so this module imports none of them.

An SQS dead-letter store is not probed: reading it means receiving every message
(which hides them from a concurrent replay for a moment), and SQS publishes
``ApproximateNumberOfMessagesVisible`` and ``ApproximateAgeOfOldestMessage`` itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Final, Protocol

from martech_bus.observability.metrics import Metrics, Probe

#: Seconds between two measurements of a store that answers with a query (DLQ, quarantine).
STORE_PROBE_INTERVAL: Final = 10.0


class BufferGauge(Protocol):
    """What a buffer probe reads (``martech_bus.buffer.BufferStore``)."""

    def depth(self) -> int: ...

    def oldest_age(self, now: float | None = None) -> float | None: ...


class DeadLetterCounter(Protocol):
    """What a dead-letter probe reads (``martech_bus.sinks.dlq.DeadLetterStore``)."""

    def count(self, *, vendor: str | None = None, include_replayed: bool = False) -> int: ...

    def oldest_age(self, now: None = None, *, vendor: str | None = None) -> timedelta | None: ...


class QuarantineCounter(Protocol):
    """What a quarantine probe reads (``martech_bus.gateway.quarantine.QuarantineStore``)."""

    def count(self, *, source: str | None = None) -> int: ...


def buffer_probe(buffer: BufferGauge, integration: str) -> Probe:
    """``buffer_depth`` and ``buffer_oldest_age_ms`` (0 when empty or unknown, as on SQS)."""

    def measure(metrics: Metrics) -> None:
        depth = buffer.depth()
        age = buffer.oldest_age()
        metrics.set_gauge("buffer_depth", depth, integration=integration)
        metrics.set_gauge(
            "buffer_oldest_age_ms", 0.0 if age is None else age * 1000, integration=integration
        )

    return measure


def dead_letter_probe(
    store: DeadLetterCounter, integrations: Iterable[str] | Callable[[], Iterable[str]]
) -> Probe | None:
    """``dlq_size`` and ``dlq_oldest_age_ms`` per integration (waiting, not replayed).

    ``integrations`` may be a callable, read at each run (a connector learns its
    adapter's name when it starts). None for a store that is not probed (SQS).
    """
    sqs = sys.modules.get("martech_bus.sinks.dlq_sqs")  # loaded whenever such a store exists
    if sqs is not None and isinstance(store, sqs.SqsDeadLetterStore):
        return None

    def measure(metrics: Metrics) -> None:
        names = integrations() if callable(integrations) else integrations
        for name in dict.fromkeys(names):
            age = store.oldest_age(vendor=name)
            metrics.set_gauge("dlq_size", store.count(vendor=name), integration=name)
            metrics.set_gauge(
                "dlq_oldest_age_ms",
                0.0 if age is None else age.total_seconds() * 1000,
                integration=name,
            )

    return measure


def quarantine_probe(store: QuarantineCounter, sources: Iterable[str], *, others: str) -> Probe:
    """``quarantine_size`` per source; items of any other source under ``integration=others``."""
    names = tuple(dict.fromkeys(sources))

    def measure(metrics: Metrics) -> None:
        counted = 0
        for name in names:
            size = store.count(source=name)
            counted += size
            metrics.set_gauge("quarantine_size", size, integration=name)
        rest = store.count() - counted
        metrics.set_gauge("quarantine_size", max(rest, 0), integration=others)

    return measure


__all__ = [
    "STORE_PROBE_INTERVAL",
    "BufferGauge",
    "DeadLetterCounter",
    "QuarantineCounter",
    "buffer_probe",
    "dead_letter_probe",
    "quarantine_probe",
]
