"""The Prometheus text exposition format (version 0.0.4), without prometheus-client.

Counters end in ``_total``; histograms give cumulative ``_bucket{le=...}`` series
ending at ``+Inf`` plus ``_sum`` and ``_count``. Metrics kept in milliseconds are
exposed in seconds, the Prometheus base unit (``delivery_latency_ms`` becomes
``delivery_latency_seconds``). Counters must be cumulative for ``rate()``: do
not serve a ``Metrics`` that an ``EmfPublisher`` resets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from martech_bus.observability.metrics import HistogramSeries, MetricSpec, MetricsSnapshot, Series

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PREFIX: Final = "martech_bus"


def to_prometheus(snapshot: MetricsSnapshot, *, prefix: str = DEFAULT_PREFIX) -> str:
    """``snapshot`` in the text exposition format, one family per metric, sorted."""
    families: dict[str, list[Series | HistogramSeries]] = {}
    every: list[Series | HistogramSeries] = [*snapshot.counters, *snapshot.gauges]
    every += snapshot.histograms
    for series in every:
        families.setdefault(series.name, []).append(series)
    lines: list[str] = []
    for name in sorted(families):
        spec = snapshot.specs[name]
        exposed, divisor = _exposed_name(prefix, spec)
        lines.append(f"# HELP {exposed} {_escape_help(spec.help)}")
        lines.append(f"# TYPE {exposed} {spec.kind}")
        for series in families[name]:
            if isinstance(series, HistogramSeries):
                lines += _histogram(exposed, series, divisor)
            else:
                lines.append(f"{exposed}{_labels(series.labels)} {_value(series.value / divisor)}")
    return "\n".join(lines) + "\n" if lines else ""


def _exposed_name(prefix: str, spec: MetricSpec) -> tuple[str, float]:
    """The exposed name and what divides the values (ms -> s: dividing is exact for round bounds)."""
    name, divisor = spec.name, 1.0
    if spec.unit == "Milliseconds":
        name, divisor = name.removesuffix("_ms") + "_seconds", 1000.0
    name = f"{prefix}_{name}" if prefix else name
    return (f"{name}_total" if spec.kind == "counter" else name), divisor


def _histogram(name: str, series: HistogramSeries, divisor: float) -> list[str]:
    lines = []
    cumulative = 0
    for bound, count in zip((*series.bounds, math.inf), series.counts, strict=True):
        cumulative += count
        le = "+Inf" if math.isinf(bound) else repr(bound / divisor)
        lines.append(f"{name}_bucket{_labels(series.labels, le=le)} {cumulative}")
    lines.append(f"{name}_sum{_labels(series.labels)} {_value(series.sum / divisor)}")
    lines.append(f"{name}_count{_labels(series.labels)} {series.count}")
    return lines


def _labels(labels: Mapping[str, str], **extra: str) -> str:
    pairs = {**labels, **extra}
    if not pairs:
        return ""
    inner = ",".join(f'{key}="{_escape_label(value)}"' for key, value in sorted(pairs.items()))
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


__all__ = ["CONTENT_TYPE", "to_prometheus"]
