"""Prometheus exposition through prometheus-client, fed by our own ``Metrics`` snapshots.

The registry stays ours (``Metrics``: what EMF, OpenTelemetry and the alerts read
too); ``SnapshotCollector`` is a prometheus-client custom collector that turns a
snapshot into metric families at each scrape. prometheus-client writes the text
format (escaping, ``_total``, cumulative ``_bucket{le=...}``) for the gateway's
``/metrics``, and serves the connector's (``connector run --metrics-port``, which
also answers OpenMetrics when the scraper asks for it).

Names get the ``martech_bus_`` prefix; counters end in ``_total``; metrics kept in
milliseconds are exposed in seconds, the Prometheus base unit
(``delivery_latency_ms`` becomes ``delivery_latency_seconds``). Counters must be
cumulative for ``rate()``: do not serve a ``Metrics`` that an ``EmfPublisher``
resets.

There is no hand-written renderer besides: a Lambda flushes (and resets) its
metrics as EMF after every invocation, so nothing there is worth scraping.
prometheus-client comes with the ``gateway`` and ``kafka`` extras and is imported
on the first scrape, never with this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from martech_bus.errors import ConfigError
from martech_bus.observability.metrics import HistogramSeries, MetricSpec, MetricsSnapshot, Series

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

#: The text format prometheus-client writes by default (``generate_latest``).
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_PREFIX: Final = "martech_bus"
INSTALL_HINT: Final = "pip install 'martech-bus[gateway]' (or [kafka])"

SnapshotSource = Callable[[], MetricsSnapshot]


def prometheus_client() -> Any:
    """The prometheus_client module, or a ConfigError with the install hint."""
    try:
        import prometheus_client
    except ImportError:
        raise ConfigError(f"Prometheus metrics need prometheus-client: {INSTALL_HINT}") from None
    return prometheus_client


def exposed_name(spec: MetricSpec, prefix: str = DEFAULT_PREFIX) -> tuple[str, float]:
    """The family name (without ``_total``) and what divides the values (ms -> s)."""
    name, divisor = spec.name, 1.0
    if spec.unit == "Milliseconds":
        name, divisor = name.removesuffix("_ms") + "_seconds", 1000.0
    return (f"{prefix}_{name}" if prefix else name), divisor


class SnapshotCollector:
    """A prometheus-client collector: the families of ``source()``'s snapshot, taken per scrape."""

    def __init__(self, source: SnapshotSource, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.source = source
        self.prefix = prefix

    def collect(self) -> Iterator[Any]:
        yield from families(self.source(), prefix=self.prefix)


def families(snapshot: MetricsSnapshot, *, prefix: str = DEFAULT_PREFIX) -> list[Any]:
    """prometheus-client ``Metric`` families for ``snapshot``, one per metric, sorted."""
    from prometheus_client.metrics_core import Metric

    grouped: dict[str, list[Series | HistogramSeries]] = {}
    every: list[Series | HistogramSeries] = [*snapshot.counters, *snapshot.gauges]
    every += snapshot.histograms
    for series in every:
        grouped.setdefault(series.name, []).append(series)
    found = []
    for name in sorted(grouped):
        spec = snapshot.specs[name]
        family, divisor = exposed_name(spec, prefix)
        unit = "seconds" if divisor != 1.0 else ""
        metric = Metric(family, spec.help, spec.kind, unit)
        for series in grouped[name]:
            if isinstance(series, HistogramSeries):
                _histogram(metric, family, series, divisor)
            else:
                sample = f"{family}_total" if spec.kind == "counter" else family
                metric.add_sample(sample, dict(series.labels), series.value / divisor)
        found.append(metric)
    return found


def _histogram(metric: Any, family: str, series: HistogramSeries, divisor: float) -> None:
    labels = dict(series.labels)
    cumulative = 0
    for bound, count in zip((*series.bounds, math.inf), series.counts, strict=True):
        cumulative += count
        le = "+Inf" if math.isinf(bound) else repr(bound / divisor)
        metric.add_sample(f"{family}_bucket", {**labels, "le": le}, cumulative)
    metric.add_sample(f"{family}_count", labels, series.count)
    metric.add_sample(f"{family}_sum", labels, series.sum / divisor)


def registry_of(source: SnapshotSource, *, prefix: str = DEFAULT_PREFIX) -> CollectorRegistry:
    """A prometheus-client registry holding one ``SnapshotCollector`` on ``source``.

    One source: a family must appear once in an exposition, so several ``Metrics``
    are merged first (``merge_snapshots``), not collected side by side.
    """
    client = prometheus_client()
    registry: CollectorRegistry = client.CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source, prefix=prefix))
    return registry


def to_prometheus(snapshot: MetricsSnapshot, *, prefix: str = DEFAULT_PREFIX) -> str:
    """``snapshot`` in the text exposition format (``CONTENT_TYPE``)."""
    client = prometheus_client()
    text: bytes = client.generate_latest(registry_of(lambda: snapshot, prefix=prefix))
    return text.decode("utf-8")


__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_PREFIX",
    "INSTALL_HINT",
    "SnapshotCollector",
    "exposed_name",
    "families",
    "prometheus_client",
    "registry_of",
    "to_prometheus",
]
