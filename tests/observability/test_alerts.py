"""Alerts as data, evaluated per integration with its runbook link."""

from __future__ import annotations

from datetime import timedelta

import pytest

from martech_bus.observability.alerts import DEFAULT_ALERTS, Alert, Comparison, evaluate
from martech_bus.observability.metrics import Metrics, MetricsSnapshot

RUNBOOKS = {"acme": "https://wiki.example.com/runbooks/acme"}
FIVE_MINUTES = timedelta(minutes=5)


def snapshot(**outcomes: int) -> MetricsSnapshot:
    metrics = Metrics()
    metrics.increment("events_received", integration="acme")
    for outcome, count in outcomes.items():
        metrics.increment("events", count, integration="acme", outcome=outcome)
    return metrics.snapshot()


def fired(snap: MetricsSnapshot, runbooks: dict[str, str] | None = None) -> list[str]:
    return [
        alert.name
        for alert in evaluate(DEFAULT_ALERTS, snap, RUNBOOKS if runbooks is None else runbooks)
    ]


def test_a_healthy_integration_fires_nothing() -> None:
    assert fired(snapshot(delivered=100, skipped=3)) == []


def test_an_error_rate_over_five_percent_fires() -> None:
    assert fired(snapshot(delivered=90, retry_later=4, dead_lettered=6)) == [
        "error-rate",
        "dlq-growth",
    ]


def test_an_error_rate_at_the_threshold_does_not_fire() -> None:
    assert "error-rate" not in fired(snapshot(delivered=95, retry_later=5))


def test_no_delivery_attempt_is_no_error_rate() -> None:
    assert fired(snapshot(skipped=10)) == []


def test_schema_violations_fire() -> None:
    assert fired(snapshot(delivered=10, invalid=1)) == ["schema-violations"]


def test_an_old_buffer_fires() -> None:
    metrics = Metrics()
    metrics.set_gauge("buffer_oldest_age_ms", 20 * 60 * 1000, integration="acme")
    assert fired(metrics.snapshot()) == ["buffer-age"]


def test_a_fired_alert_links_the_integrations_runbook_section() -> None:
    [alert] = evaluate(DEFAULT_ALERTS, snapshot(delivered=1, invalid=2), RUNBOOKS)
    assert (alert.integration, alert.value, alert.runbook) == (
        "acme",
        2,
        "https://wiki.example.com/runbooks/acme#schema-violations",
    )


def test_an_integration_without_a_runbook_still_alerts() -> None:
    [alert] = evaluate(DEFAULT_ALERTS, snapshot(invalid=1), {})
    assert alert.runbook is None


def test_each_integration_is_evaluated_on_its_own() -> None:
    metrics = Metrics()
    metrics.increment("events", integration="acme", outcome="delivered")
    metrics.increment("events", integration="globex", outcome="invalid")
    assert [(a.name, a.integration) for a in evaluate(DEFAULT_ALERTS, metrics.snapshot())] == [
        ("schema-violations", "globex")
    ]


def test_a_lower_than_alert_fires_on_a_missing_counter() -> None:
    no_traffic = Alert("no-deliveries", "events{outcome=delivered}", 1, FIVE_MINUTES, Comparison.LT)
    assert [a.value for a in evaluate([no_traffic], snapshot(skipped=4))] == [0.0]


def test_the_alert_reads_as_its_condition() -> None:
    [alert] = evaluate(DEFAULT_ALERTS, snapshot(invalid=3), RUNBOOKS)
    assert str(alert) == (
        "schema-violations [acme]: 3, events{outcome=invalid} > 0 over 5m"
        " (runbook: https://wiki.example.com/runbooks/acme#schema-violations)"
    )


def test_a_malformed_metric_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="is not `name` or"):
        Alert("x", "events{outcome=invalid", 0, FIVE_MINUTES)


def test_an_unknown_metric_is_refused_when_evaluated() -> None:
    typo = Alert("x", "event{outcome=invalid}", 0, FIVE_MINUTES)
    with pytest.raises(ValueError, match="'event' is unknown"):
        evaluate([typo], snapshot(delivered=1))
