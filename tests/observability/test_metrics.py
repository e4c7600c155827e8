"""The in-process metrics registry and what it counts from pipeline results."""

from __future__ import annotations

import threading

import pytest

from martech_bus.observability.metrics import (
    MAX_SAMPLES,
    Metrics,
    MetricSpec,
    merge_snapshots,
    skip_reason,
)
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.sinks.base import Outcome, OutcomeKind

ACME = "acme"


def outcome(kind: OutcomeKind, reason: str | None = None, attempts: int = 1) -> Outcome:
    return Outcome("e", kind, reason, attempts)


def result(*outcomes: Outcome, status: EventStatus = EventStatus.DELIVERED) -> EventResult:
    return EventResult("e", status, None, outcomes)


INVALID = EventResult(None, EventStatus.INVALID, "bad", problems=("x",))


def recorded(*results: EventResult, latency_ms: float | None = 20.0) -> Metrics:
    metrics = Metrics()
    metrics.record_results(results, integration=ACME, latency_ms=latency_ms)
    return metrics


def test_every_input_event_is_received() -> None:
    snapshot = recorded(result(outcome(OutcomeKind.DELIVERED)), INVALID).snapshot()
    assert snapshot.value("events_received", integration=ACME) == 2


def test_invalid_events_are_not_validated() -> None:
    snapshot = recorded(result(outcome(OutcomeKind.DELIVERED)), INVALID).snapshot()
    assert (
        snapshot.value("events_validated", integration=ACME),
        snapshot.value("events", integration=ACME, outcome="invalid"),
    ) == (1, 1)


def test_each_route_outcome_is_counted() -> None:
    snapshot = recorded(
        result(outcome(OutcomeKind.DELIVERED), outcome(OutcomeKind.DEAD_LETTERED)),
        result(outcome(OutcomeKind.RETRY_LATER), outcome(OutcomeKind.DELIVERED)),
    ).snapshot()
    assert [
        snapshot.value("events", outcome=o) for o in ("delivered", "dead_lettered", "retry_later")
    ] == [2, 1, 1]


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("consent denied: marketing", "consent"),
        ("consent missing: analytics", "consent"),
        ("acme does not map page_viewed", "not_mapped"),
        ("already delivered to acme", "duplicate"),
        ("internal test traffic", "filter"),
    ],
)
def test_skips_are_labelled_with_their_reason(reason: str, label: str) -> None:
    assert skip_reason(outcome(OutcomeKind.SKIPPED, reason)) == label


def test_a_declared_skip_reason_wins_over_the_text() -> None:
    declared = Outcome("e", OutcomeKind.SKIPPED, "consent?", detail={"skip_reason": "duplicate"})
    assert skip_reason(declared) == "duplicate"


def test_skipped_events_carry_the_reason_label() -> None:
    snapshot = recorded(result(outcome(OutcomeKind.SKIPPED, "consent denied: ads"))).snapshot()
    [series] = [s for s in snapshot.counters if s.name == "events"]
    assert series.labels == {"integration": ACME, "outcome": "skipped", "reason": "consent"}


def test_retries_count_attempts_beyond_the_first() -> None:
    snapshot = recorded(
        result(outcome(OutcomeKind.DELIVERED, attempts=3)),
        result(outcome(OutcomeKind.DELIVERED, attempts=1)),
        result(outcome(OutcomeKind.SKIPPED, "consent denied: ads", attempts=0)),
    ).snapshot()
    assert snapshot.value("delivery_retries", integration=ACME) == 2


def test_latency_is_observed_once_per_delivered_event() -> None:
    snapshot = recorded(
        result(outcome(OutcomeKind.DELIVERED)),
        result(outcome(OutcomeKind.DELIVERED), outcome(OutcomeKind.DELIVERED)),
        result(outcome(OutcomeKind.DEAD_LETTERED)),
        latency_ms=30.0,
    ).snapshot()
    [histogram] = snapshot.histograms
    assert (histogram.count, histogram.sum) == (3, 90.0)


def test_histogram_buckets_hold_values_up_to_their_bound() -> None:
    metrics = Metrics(buckets_ms=(10, 100))
    for value in (10, 10.5, 100, 1000):
        metrics.observe("delivery_latency_ms", value, integration=ACME)
    [histogram] = metrics.snapshot().histograms
    assert histogram.counts == (1, 2, 1)


def test_histogram_samples_stay_bounded() -> None:
    metrics = Metrics()
    metrics.observe("delivery_latency_ms", 5.0, times=MAX_SAMPLES * 3, integration=ACME)
    [histogram] = metrics.snapshot().histograms
    assert (len(histogram.samples), histogram.count) == (MAX_SAMPLES, MAX_SAMPLES * 3)


def test_a_gauge_keeps_its_last_value() -> None:
    metrics = Metrics()
    metrics.set_gauge("buffer_depth", 7, integration=ACME)
    metrics.set_gauge("buffer_depth", 3, integration=ACME)
    assert metrics.snapshot().value("buffer_depth", integration=ACME) == 3


def test_age_gauges_combine_by_maximum() -> None:
    metrics = Metrics()
    metrics.set_gauge("dlq_oldest_age_ms", 10, integration=ACME)
    metrics.set_gauge("dlq_oldest_age_ms", 99, integration="globex")
    assert metrics.snapshot().value("dlq_oldest_age_ms") == 99


def test_a_reset_snapshot_clears_counters_and_histograms_but_not_gauges() -> None:
    metrics = recorded(result(outcome(OutcomeKind.DELIVERED)))
    metrics.set_gauge("dlq_size", 4, integration=ACME)
    metrics.snapshot(reset=True)
    after = metrics.snapshot()
    assert (after.counters, after.histograms, after.value("dlq_size")) == ((), (), 4)


def test_concurrent_increments_are_not_lost() -> None:
    metrics = Metrics()

    def work() -> None:
        for _ in range(2000):
            metrics.increment("events_received", integration=ACME)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.snapshot().value("events_received") == 16000


def test_an_undeclared_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="'event_received' is not a declared counter"):
        Metrics().increment("event_received", integration=ACME)


def test_a_metric_needs_the_integration_label() -> None:
    with pytest.raises(ValueError, match="labels must include integration"):
        Metrics().increment("events_received")


def test_an_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="outcome must be one of"):
        Metrics().increment("events", integration=ACME, outcome="sent")


def test_counters_never_go_down() -> None:
    with pytest.raises(ValueError, match="cannot go down"):
        Metrics().increment("events_received", -1, integration=ACME)


def test_quarantined_events_are_counted_by_the_caller() -> None:
    metrics = Metrics()
    metrics.increment("events", 2, integration=ACME, outcome="quarantined")
    assert metrics.snapshot().value("events", outcome="quarantined") == 2


def test_merged_snapshots_add_counters_and_histograms_and_keep_the_last_gauge() -> None:
    a, b = Metrics(), Metrics()
    for metrics, depth in ((a, 3), (b, 5)):
        metrics.increment("events", 2, integration=ACME, outcome="delivered")
        metrics.set_gauge("buffer_depth", depth, integration=ACME)
        metrics.observe("delivery_latency_ms", 20, integration=ACME)
    merged = merge_snapshots([a.snapshot(), b.snapshot()])
    [histogram] = merged.histograms
    assert (
        merged.value("events", integration=ACME, outcome="delivered"),
        merged.value("buffer_depth", integration=ACME),
        histogram.count,
        histogram.sum,
    ) == (4, 5, 2, 40)


def test_merged_snapshots_keep_every_registrys_metric_declarations() -> None:
    extra = MetricSpec("widgets", "counter", "Count", "Widgets.")
    merged = merge_snapshots([Metrics().snapshot(), Metrics(specs={"widgets": extra}).snapshot()])
    assert {"events", "widgets"} <= set(merged.specs)
