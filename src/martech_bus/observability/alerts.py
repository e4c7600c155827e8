"""Alerts as data: what to watch per integration, its threshold, and where the runbook is.

An ``Alert`` names a metric: a derived signal (``error_rate``) or a counter or
gauge with optional label filters (``events{outcome=invalid}``). ``evaluate``
checks every alert for every integration in a snapshot; the snapshot is taken to
cover the alert's ``window`` (an EMF flush covers one invocation).
``prometheus_rules`` turns alerts into Prometheus alerting rules: a counter's
``increase`` over the window, a gauge that holds for the window. A counter with
no series counts as 0 for an integration that has other series; a gauge with
none, or an error rate with no delivery attempt, is no data and fires nothing.

The default set is data too: ``alerts.yaml`` beside this module, read strictly
(``martech_bus.yamlfile``: problems name file:line) by ``load_alerts``, which also
reads a team's own file (``--file``, ``MARTECH_BUS_ALERTS``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from martech_bus.config import setting
from martech_bus.errors import ConfigError, Location
from martech_bus.observability.metrics import MetricSpec, MetricsSnapshot

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
    summary: str = ""  # what it means when it fires

    def __post_init__(self) -> None:
        _parse(self.metric)  # a malformed metric fails when the alert is declared

    @property
    def condition(self) -> str:
        return (
            f"{self.metric} {self.comparison} {_number(self.threshold)} over {_window(self.window)}"
        )


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
        return f"{self.alert.name} [{self.integration}]: {_number(self.value)}, {self.alert.condition}{link}"


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

DEFAULT_FILE: Final = Path(__file__).with_name("alerts.yaml")
FILE_SETTING: Final = "alerts"  # MARTECH_BUS_ALERTS
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_WINDOW: Final = re.compile(r"([1-9][0-9]*)([smhd])\Z")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_KEYS: Final = ("name", "metric", "threshold", "window", "comparison", "runbook", "summary")


def alerts_path(explicit: str | Path | None = None) -> Path:
    """``explicit`` > ``MARTECH_BUS_ALERTS`` > the shipped defaults."""
    value = setting(FILE_SETTING, None if explicit is None else str(explicit))
    return Path(value) if value else DEFAULT_FILE


def load_alerts(
    path: str | Path | None = None, *, known: Collection[str] | None = None
) -> tuple[Alert, ...]:
    """The alerts of a YAML file (see ``alerts.yaml``); every problem names file:line.

    ``known``: the metric names an alert may use (besides the derived signals);
    None accepts any well-formed name.
    """
    from martech_bus.yamlfile.loader import read_yaml_file

    chosen = alerts_path(path)
    return parse_alerts(read_yaml_file(chosen), file=str(chosen), known=known)


def parse_alerts(
    root: Any, *, file: str | None = None, known: Collection[str] | None = None
) -> tuple[Alert, ...]:
    """Alerts from a positioned YAML tree (``martech_bus.yamlfile.nodes``)."""
    from martech_bus.errors import Problem
    from martech_bus.yamlfile.nodes import YMap, YScalar, YSeq, describe

    problems: list[Problem] = []

    def where(node: Any, path: str) -> Location:
        return Location(file=file, line=node.line, column=node.column, path=path or None)

    def problem(node: Any, path: str, message: str) -> None:
        problems.append(Problem(message, where(node, path)))

    if not isinstance(root, YMap) or root.key_names() != ["alerts"]:
        raise ConfigError(
            "an alerts file is a mapping with one key, `alerts`: a list of alerts",
            location=where(root, ""),
        )
    items = root.items[0][1]
    if not isinstance(items, YSeq):
        raise ConfigError(
            f"`alerts` must be a list, not {describe(items)}", location=where(items, "alerts")
        )
    alerts: list[Alert] = []
    names: set[str] = set()
    for index, item in enumerate(items.items):
        path = f"alerts[{index}]"
        if not isinstance(item, YMap):
            problem(item, path, f"an alert is a mapping, not {describe(item)}")
            continue
        fields: dict[str, Any] = {}
        for key, value in item.items:
            name = str(key.value)
            if name not in _KEYS:
                problem(key, f"{path}.{name}", f"unknown key (known: {', '.join(_KEYS)})")
            elif not isinstance(value, YScalar) or value.value is None:
                problem(value, f"{path}.{name}", f"must be a scalar, not {describe(value)}")
            else:
                fields[name] = value
        missing = [k for k in ("name", "metric", "threshold", "window") if k not in fields]
        if missing:
            problem(item, path, f"missing {', '.join(missing)}")
            continue
        before = len(problems)
        name = _text(fields["name"])
        if not _NAME.match(name):
            problem(fields["name"], f"{path}.name", f"{name!r}: lower-case letters, digits and -")
        elif name in names:
            problem(fields["name"], f"{path}.name", f"{name!r} is declared twice")
        names.add(name)
        threshold = fields["threshold"].value
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            problem(
                fields["threshold"], f"{path}.threshold", f"must be a number, not {threshold!r}"
            )
        window = _WINDOW.match(_text(fields["window"]))
        if window is None:
            problem(fields["window"], f"{path}.window", "must be like 30s, 5m, 1h or 1d")
        comparison = _text(fields["comparison"]) if "comparison" in fields else ">"
        if comparison not in {c.value for c in Comparison}:
            problem(fields["comparison"], f"{path}.comparison", "must be one of >, >=, <, <=")
        metric = _text(fields["metric"])
        try:
            metric_name, _ = _parse(metric)
        except ValueError as exc:
            problem(fields["metric"], f"{path}.metric", str(exc))
        else:
            if known is not None and metric_name not in DERIVED and metric_name not in known:
                allowed = ", ".join(sorted({*DERIVED, *known}))
                problem(
                    fields["metric"],
                    f"{path}.metric",
                    f"unknown metric {metric_name!r} (known: {allowed})",
                )
        if len(problems) > before or window is None:
            continue
        alerts.append(
            Alert(
                name,
                metric,
                float(threshold),
                timedelta(seconds=int(window[1]) * _UNIT_SECONDS[window[2]]),
                Comparison(comparison),
                _text(fields["runbook"]) if "runbook" in fields else "",
                _text(fields["summary"]) if "summary" in fields else "",
            )
        )
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in the alerts",
            location=Location(file=file),
            problems=problems,
        )
    return tuple(alerts)


def _text(node: Any) -> str:
    return str(node.value).strip()


#: The shipped default alerts (``alerts.yaml`` beside this module).
DEFAULT_ALERTS: Final = load_alerts(DEFAULT_FILE)


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


def prometheus_rules(
    alerts: Sequence[Alert],
    specs: Mapping[str, MetricSpec],
    runbooks: Mapping[str, str] | None = None,
    *,
    prefix: str = "martech_bus",
    group: str = "martech-bus",
) -> dict[str, Any]:
    """Prometheus alerting rules (a ``groups:`` document) for ``alerts``.

    Each integration with a runbook gets its own rule, so its link is exact; one
    more rule covers every other integration. Counters use ``increase`` over the
    window, gauges must hold for the window (``for:``), ages are in seconds.
    """
    from martech_bus.observability.prometheus import exposed_name

    runbooks = dict(sorted((runbooks or {}).items()))
    rules: list[dict[str, Any]] = []
    for alert in alerts:
        scopes: list[tuple[str, str | None]] = [
            (f'integration="{_promql_escape(name)}"', _link(url, alert))
            for name, url in runbooks.items()
        ]
        others = "|".join(re.escape(name) for name in runbooks)
        scopes.append((f'integration!~"{_promql_escape(others)}"' if others else "", None))
        for matcher, link in scopes:
            expr, hold = _promql(alert, specs, matcher, prefix, exposed_name)
            rule: dict[str, Any] = {
                "alert": "MartechBus" + "".join(part.title() for part in alert.name.split("-")),
                "expr": expr,
            }
            if hold:
                rule["for"] = _window(alert.window)
            rule["labels"] = {"martech_bus_alert": alert.name}
            annotations = {"summary": alert.summary or alert.condition}
            if link:
                annotations["runbook_url"] = link
            rule["annotations"] = annotations
            rules.append(rule)
    return {"groups": [{"name": group, "rules": rules}]}


def _promql(
    alert: Alert,
    specs: Mapping[str, MetricSpec],
    scope: str,
    prefix: str,
    exposed_name: Callable[[MetricSpec, str], tuple[str, float]],
) -> tuple[str, bool]:
    """The rule's expression, and whether it must hold for the window (gauges)."""
    name, labels = _parse(alert.metric)
    window = _window(alert.window)

    def selector(family: str, *matchers: str) -> str:
        inner = ",".join(filter(None, [*matchers, scope]))
        return f"{family}{{{inner}}}" if inner else family

    def increase(family: str, *matchers: str) -> str:
        return f"sum by (integration) (increase({selector(family, *matchers)}[{window}]))"

    if name == "error_rate":
        events = exposed_name(specs["events"], prefix)[0] + "_total"
        failed = increase(events, 'outcome=~"dead_lettered|retry_later"')
        settled = increase(events, 'outcome=~"delivered|dead_lettered|retry_later"')
        return f"({failed} / {settled}) {alert.comparison} {_number(alert.threshold)}", False
    spec = specs.get(name)
    if spec is None or spec.kind == "histogram":
        raise ValueError(f"alert {alert.name}: {name!r} is not a declared counter or gauge")
    family, divisor = exposed_name(spec, prefix)
    filters = [f'{k}="{_promql_escape(v)}"' for k, v in sorted(labels.items())]
    limit = f"{alert.comparison} {_number(alert.threshold / divisor)}"
    if spec.kind == "counter":
        return f"{increase(family + '_total', *filters)} {limit}", False
    combine = "max" if spec.rollup == "max" else "sum"
    return f"{combine} by (integration) ({selector(family, *filters)}) {limit}", True


def _number(value: float) -> str:
    """``900000`` and ``0.05``, never ``9e+05``: thresholds read as written."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _promql_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


__all__ = [
    "DEFAULT_ALERTS",
    "DEFAULT_FILE",
    "DERIVED",
    "Alert",
    "Comparison",
    "FiredAlert",
    "alerts_path",
    "evaluate",
    "load_alerts",
    "parse_alerts",
    "prometheus_rules",
]
