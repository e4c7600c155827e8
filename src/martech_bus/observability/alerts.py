"""Alerts as data: what to watch per integration, its threshold, and where the runbook is.

An ``Alert`` names a metric: a derived signal (``error_rate``) or a counter or
gauge with optional label filters (``events{outcome=invalid}``). ``evaluate``
checks every alert for every integration in a snapshot; the snapshot is taken to
cover the alert's ``window`` (an EMF flush covers one invocation; CloudWatch
alarms and Prometheus rules generated from these alerts use the window as their
period or range). A counter with no series counts as 0 for an integration that
has other series; a gauge with none, or an error rate with no delivery attempt,
is no data and fires nothing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from martech_bus.observability.metrics import MetricsSnapshot

_METRIC = re.compile(r"(?P<name>[a-z_][a-z0-9_]*)(?:\{(?P<labels>[^{}]*)\})?")
_LABEL = re.compile(r"\s*([a-z_][a-z0-9_]*)\s*=\s*([^,\s]+)\s*")


def _parse(metric: str) -> tuple[str, dict[str, str]]:
    match = _METRIC.fullmatch(metric.strip())
    if match is None:
        raise ValueError(f"alert metric {metric!r} is not `name` or `name{{label=value,...}}`")
    labels: dict[str, str] = {}
    for part in filter(None, (match["labels"] or "").split(",")):
        pair = _LABEL.fullmatch(part)
        if pair is None or pair[1] == "integration":
            raise ValueError(f"alert metric {metric!r}: bad label filter {part.strip()!r}")
        labels[pair[1]] = pair[2]
    return match["name"], labels


class Comparison(enum.StrEnum):
    """How a value is compared with the threshold; the alert fires when it holds."""

    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.LT:
            return value < threshold
        return value <= threshold


@dataclass(frozen=True, slots=True)
class Alert:
    """Fire when ``metric`` ``comparison`` ``threshold`` over ``window``, per integration."""

    name: str
    metric: str
    threshold: float
    window: timedelta
    comparison: Comparison = Comparison.GT
    runbook: str = ""  # the section of the integration's runbook, appended as "#<runbook>"

    def __post_init__(self) -> None:
        _parse(self.metric)  # a malformed metric fails when the alert is declared

    @property
    def condition(self) -> str:
        return f"{self.metric} {self.comparison} {self.threshold:g} over {_window(self.window)}"


@dataclass(frozen=True, slots=True)
class FiredAlert:
    """An alert that fired for one integration, with the value seen and the runbook link."""

    alert: Alert
    integration: str
    value: float
    runbook: str | None

    @property
    def name(self) -> str:
        return self.alert.name

    def __str__(self) -> str:
        link = f" (runbook: {self.runbook})" if self.runbook else ""
        return (
            f"{self.alert.name} [{self.integration}]: {self.value:g}, {self.alert.condition}{link}"
        )


def _error_rate(snapshot: MetricsSnapshot, integration: str) -> float | None:
    """(dead-lettered + retry-later) / delivery attempts settled; None without any."""

    def count(outcome: str) -> float:
        return snapshot.value("events", integration=integration, outcome=outcome) or 0.0

    failed = count("dead_lettered") + count("retry_later")
    attempted = failed + count("delivered")
    return failed / attempted if attempted else None


#: Signals computed from several series.
DERIVED: Final[Mapping[str, Callable[[MetricsSnapshot, str], float | None]]] = {
    "error_rate": _error_rate
}

DEFAULT_ALERTS: Final = (
    Alert("error-rate", "error_rate", 0.05, timedelta(minutes=5), Comparison.GT, "error-rate"),
    Alert(
        "buffer-age",
        "buffer_oldest_age_ms",
        15 * 60 * 1000,
        timedelta(minutes=5),
        Comparison.GT,
        "buffer-age",
    ),
    Alert(
        "dlq-growth",
        "events{outcome=dead_lettered}",
        0,
        timedelta(minutes=15),
        Comparison.GT,
        "dlq-growth",
    ),
    Alert(
        "schema-violations",
        "events{outcome=invalid}",
        0,
        timedelta(minutes=5),
        Comparison.GT,
        "schema-violations",
    ),
)


def evaluate(
    alerts: Sequence[Alert],
    snapshot: MetricsSnapshot,
    runbooks: Mapping[str, str] | None = None,
) -> list[FiredAlert]:
    """The alerts that fire, per integration in ``snapshot``, each with its runbook link.

    ``runbooks`` maps an integration to its runbook URL (from its manifest); an
    unknown metric raises ValueError naming the known ones.
    """
    runbooks = runbooks or {}
    fired: list[FiredAlert] = []
    for integration in snapshot.integrations():
        for alert in alerts:
            value = _measure(alert.metric, snapshot, integration)
            if value is not None and alert.comparison.holds(value, alert.threshold):
                fired.append(
                    FiredAlert(alert, integration, value, _link(runbooks.get(integration), alert))
                )
    return fired


def _measure(metric: str, snapshot: MetricsSnapshot, integration: str) -> float | None:
    name, labels = _parse(metric)
    derived = DERIVED.get(name)
    if derived is not None:
        if labels:
            raise ValueError(f"{metric}: a derived signal takes no labels")
        return derived(snapshot, integration)
    spec = snapshot.specs.get(name)
    if spec is None or spec.kind == "histogram":
        known = sorted(
            {*DERIVED, *(s.name for s in snapshot.specs.values() if s.kind != "histogram")}
        )
        raise ValueError(f"alert metric {name!r} is unknown (known: {', '.join(known)})")
    value = snapshot.value(name, **labels, integration=integration)
    if value is None and spec.kind == "counter":
        return 0.0
    return value


def _link(base: str | None, alert: Alert) -> str | None:
    if base is None:
        return None
    if not alert.runbook or "#" in base:
        return base
    return f"{base}#{alert.runbook}"


def _window(window: timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


__all__ = ["DEFAULT_ALERTS", "DERIVED", "Alert", "Comparison", "FiredAlert", "evaluate"]
