"""Alerts as data, evaluated per integration with its runbook link."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import ConfigError
from martech_bus.observability.alerts import (
    DEFAULT_ALERTS,
    DEFAULT_FILE,
    Alert,
    Comparison,
    evaluate,
    load_alerts,
    prometheus_rules,
)
from martech_bus.observability.metrics import SPECS, Metrics, MetricsSnapshot

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


# -- the alerts file ------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_defaults_are_the_shipped_file() -> None:
    assert load_alerts(DEFAULT_FILE) == DEFAULT_ALERTS


def test_the_defaults_watch_errors_buffer_age_dead_letters_and_schema_violations() -> None:
    assert {alert.name for alert in DEFAULT_ALERTS} >= {
        "error-rate",
        "buffer-age",
        "dlq-growth",
        "schema-violations",
    }


def test_every_default_alert_links_a_runbook_section_and_says_what_it_means() -> None:
    assert all(alert.runbook and alert.summary for alert in DEFAULT_ALERTS)


def test_every_default_alert_uses_a_declared_metric() -> None:
    known = {name for name, spec in SPECS.items() if spec.kind != "histogram"}
    assert load_alerts(DEFAULT_FILE, known=known) == DEFAULT_ALERTS


def test_a_file_is_read_with_its_window_comparison_and_summary(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerts:\n"
        "  - name: no-traffic\n"
        "    metric: events{outcome=delivered}\n"
        '    comparison: "<"\n'
        "    threshold: 1\n"
        "    window: 1h\n"
        "    summary: Nothing was delivered for an hour.\n",
    )
    assert load_alerts(path) == (
        Alert(
            "no-traffic",
            "events{outcome=delivered}",
            1,
            timedelta(hours=1),
            Comparison.LT,
            "",
            "Nothing was delivered for an hour.",
        ),
    )


def test_the_setting_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path, "alerts:\n  - {name: a, metric: error_rate, threshold: 0.1, window: 5m}\n"
    )
    monkeypatch.setenv("MARTECH_BUS_ALERTS", str(path))
    assert [alert.name for alert in load_alerts()] == ["a"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: x, window: 5m}\n",
            ":2:46, at alerts[0].threshold: must be a number",
        ),
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: 1, window: 5 min}\n",
            "at alerts[0].window: must be like",
        ),
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: 1}\n",
            ":2:5, at alerts[0]: missing window",
        ),
        (
            "alerts:\n  - {name: A_b, metric: error_rate, threshold: 1, window: 5m}\n",
            "lower-case letters",
        ),
        (
            "alerts:\n  - {name: a, metric: 'events{x', threshold: 1, window: 5m}\n",
            "is not `name` or",
        ),
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: 1, window: 5m, colour: red}\n",
            "at alerts[0].colour: unknown key",
        ),
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: 1, window: 5m, comparison: '=='}\n",
            "must be one of >, >=, <, <=",
        ),
        (
            "alerts:\n  - {name: a, metric: error_rate, threshold: 1, window: 5m}\n  - {name: a, metric: error_rate, threshold: 2, window: 5m}\n",
            ":3:12, at alerts[1].name: 'a' is declared twice",
        ),
        ("rules: []\n", "a mapping with one key, `alerts`"),
    ],
)
def test_a_problem_names_its_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_alerts(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerts:\n  - {name: a, metric: error_rate, threshold: x, window: 5m}\n"
        "  - {name: b, metric: error_rate, threshold: 1, window: soon}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_alerts(path)
    assert len(caught.value.problems) == 2


def test_an_unknown_metric_is_refused_when_known_names_are_given(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts:\n  - {name: a, metric: dlq_sise, threshold: 1, window: 5m}\n")
    with pytest.raises(ConfigError, match="unknown metric 'dlq_sise'"):
        load_alerts(path, known=set(SPECS))


# -- Prometheus rules -----------------------------------------------------------------------


def rules_of(alert: Alert, runbooks: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = prometheus_rules([alert], SPECS, runbooks)["groups"][0]["rules"]
    return rules


def test_a_counter_alert_is_an_increase_over_the_window() -> None:
    [rule] = rules_of(
        Alert("dlq-growth", "events{outcome=dead_lettered}", 0, timedelta(minutes=15))
    )
    assert rule["expr"] == (
        'sum by (integration) (increase(martech_bus_events_total{outcome="dead_lettered"}[15m])) > 0'
    )
    assert "for" not in rule


def test_a_gauge_alert_in_milliseconds_is_compared_in_seconds_and_must_hold() -> None:
    [rule] = rules_of(Alert("buffer-age", "buffer_oldest_age_ms", 900_000, FIVE_MINUTES))
    assert (rule["expr"], rule["for"]) == (
        "max by (integration) (martech_bus_buffer_oldest_age_seconds) > 900",
        "5m",
    )


def test_the_error_rate_divides_failed_by_settled_attempts() -> None:
    [rule] = rules_of(Alert("error-rate", "error_rate", 0.05, FIVE_MINUTES))
    assert rule["expr"] == (
        '(sum by (integration) (increase(martech_bus_events_total{outcome=~"dead_lettered|retry_later"}[5m]))'
        ' / sum by (integration) (increase(martech_bus_events_total{outcome=~"delivered|dead_lettered|retry_later"}[5m])))'
        " > 0.05"
    )


def test_each_integration_with_a_runbook_gets_its_own_rule_and_link() -> None:
    alert = Alert(
        "schema-violations", "events{outcome=invalid}", 0, FIVE_MINUTES, runbook="schema-violations"
    )
    acme, rest = rules_of(alert, RUNBOOKS)
    assert 'integration="acme"' in acme["expr"]
    assert (
        acme["annotations"]["runbook_url"]
        == "https://wiki.example.com/runbooks/acme#schema-violations"
    )
    assert 'integration!~"acme"' in rest["expr"]
    assert "runbook_url" not in rest["annotations"]


def test_a_rule_is_named_after_its_alert() -> None:
    [rule] = rules_of(Alert("dlq-growth", "events{outcome=dead_lettered}", 0, FIVE_MINUTES))
    assert (rule["alert"], rule["labels"]) == (
        "MartechBusDlqGrowth",
        {"martech_bus_alert": "dlq-growth"},
    )
