"""The gateway's metrics, declared next to the pipeline's so one ``Metrics`` serves both.

Every series carries ``integration`` (a ``Metrics`` rule); the gateway's use
``integration="gateway"``. Route labels are ``canonical`` or a declared source
name, never a name taken from a request path, so the label set stays bounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from martech_bus.observability.metrics import (
    SPECS,
    HistogramSeries,
    Metrics,
    MetricSpec,
    MetricsSnapshot,
    Series,
)

INTEGRATION: Final = "gateway"

GATEWAY_SPECS: Final[Mapping[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "gateway_source_expired",
            "gauge",
            "Count",
            "1 when an inbound source is past its expires_on (it keeps accepting data).",
            ("integration", "source"),
            rollup="max",
        ),
        MetricSpec(
            "gateway_source_days_left",
            "gauge",
            "Count",
            "Days until an inbound source's expires_on; negative once past it.",
            ("integration", "source"),
            rollup="max",
        ),
        MetricSpec(
            "gateway_requests",
            "counter",
            "Count",
            "Gateway requests by route (canonical, a source name or unknown) and HTTP status.",
            ("integration", "route", "status"),
        ),
    )
}


def gateway_metrics() -> Metrics:
    """A registry that knows the pipeline's metrics and the gateway's."""
    return Metrics(specs={**SPECS, **GATEWAY_SPECS})


def merged(snapshots: Sequence[MetricsSnapshot]) -> MetricsSnapshot:
    """One snapshot of several registries (the gateway's, a pipeline's): counters of the same
    series add up, a gauge keeps the last registry's value, histograms are listed side by side."""
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    specs: dict[str, MetricSpec] = {}
    histograms: list[HistogramSeries] = []
    for snapshot in snapshots:
        specs.update(snapshot.specs)
        for series in snapshot.counters:
            key = (series.name, tuple(sorted(series.labels.items())))
            counters[key] = counters.get(key, 0.0) + series.value
        for series in snapshot.gauges:
            gauges[(series.name, tuple(sorted(series.labels.items())))] = series.value
        histograms.extend(snapshot.histograms)
    return MetricsSnapshot(
        tuple(
            Series(name, dict(labels), value) for (name, labels), value in sorted(counters.items())
        ),
        tuple(
            Series(name, dict(labels), value) for (name, labels), value in sorted(gauges.items())
        ),
        tuple(histograms),
        specs,
    )


__all__ = ["GATEWAY_SPECS", "INTEGRATION", "gateway_metrics", "merged"]
