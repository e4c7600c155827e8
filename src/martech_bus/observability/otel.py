"""OpenTelemetry metrics, when installed: observable instruments that read our ``Metrics``.

Nothing is recorded twice: every instrument is *observable*, and its callback
reads the registry's snapshot when the SDK collects (one snapshot per collection
is shared by all instruments). Counters become observable counters, gauges
observable gauges, the latency histogram two observable counters (``.count`` and
``.sum``; its distribution goes out through Prometheus or EMF). Labels become
attributes; units are UCUM (``1``, ``ms``). Names are ``martech_bus.<metric>``.

Enabled by ``MARTECH_BUS_OTEL=1`` through ``enable``; the process's meter provider
(the SDK and an exporter, set up by the application or ``opentelemetry-instrument``)
decides where the data goes. opentelemetry is imported by ``enable``/``instrument``
only, never at a cold start. Do not combine with an ``EmfPublisher`` on the same
registry: its resets would make the counters go down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from martech_bus.config import setting
from martech_bus.observability.metrics import Metrics, MetricSpec, MetricsSnapshot, merge_snapshots

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

logger = logging.getLogger("martech_bus.observability")

METER_NAME: Final = "martech_bus"
PREFIX: Final = "martech_bus."
SETTING: Final = "otel"  # MARTECH_BUS_OTEL
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_UNITS: Final = {"Count": "1", "Milliseconds": "ms"}


class _SharedSnapshot:
    """One snapshot per collection: a new one once an instrument asks a second time."""

    def __init__(self, take: Callable[[], MetricsSnapshot]) -> None:
        self._take = take
        self._snapshot: MetricsSnapshot | None = None
        self._served: set[str] = set()

    def get(self, instrument: str) -> MetricsSnapshot:
        if self._snapshot is None or instrument in self._served:
            self._snapshot = self._take()
            self._served.clear()
        self._served.add(instrument)
        return self._snapshot


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``MARTECH_BUS_OTEL`` asks for OpenTelemetry metrics."""
    value = setting(SETTING, None, "", environ=environ) or ""
    return value.strip().lower() in _TRUE


def enable(
    metrics: Metrics | Sequence[Metrics], *, environ: Mapping[str, str] | None = None
) -> bool:
    """``instrument`` on the global meter provider when ``MARTECH_BUS_OTEL`` is set.

    False when the setting is off, or on without ``opentelemetry-api`` (logged).
    """
    if not enabled(environ):
        return False
    try:
        import opentelemetry.metrics  # noqa: F401 - only to know whether it is installed
    except ImportError:
        logger.warning(
            "MARTECH_BUS_OTEL is set but opentelemetry is not installed: "
            "pip install opentelemetry-sdk and an exporter; no OpenTelemetry metrics"
        )
        return False
    instrument(metrics)
    return True


def instrument(
    metrics: Metrics | Sequence[Metrics], *, meter_provider: MeterProvider | None = None
) -> list[Any]:
    """Observable instruments for every metric the registries declare; returns them."""
    from opentelemetry import metrics as otel

    registries = [metrics] if isinstance(metrics, Metrics) else list(metrics)
    specs: dict[str, MetricSpec] = {}
    for registry in registries:
        specs.update(registry.specs)
    shared = _SharedSnapshot(lambda: merge_snapshots([r.snapshot() for r in registries]))
    meter = otel.get_meter(METER_NAME, meter_provider=meter_provider)
    made: list[Any] = []
    for name, spec in sorted(specs.items()):
        unit, what = _UNITS[spec.unit], spec.help
        if spec.kind == "counter":
            made.append(
                meter.create_observable_counter(
                    PREFIX + name, [_scalars(shared, name)], unit=unit, description=what
                )
            )
        elif spec.kind == "gauge":
            made.append(
                meter.create_observable_gauge(
                    PREFIX + name, [_scalars(shared, name)], unit=unit, description=what
                )
            )
        else:
            made.append(
                meter.create_observable_counter(
                    f"{PREFIX}{name}.count", [_histogram(shared, name, "count")], unit="1"
                )
            )
            made.append(
                meter.create_observable_counter(
                    f"{PREFIX}{name}.sum", [_histogram(shared, name, "sum")], unit=unit
                )
            )
    return made


def _scalars(
    shared: _SharedSnapshot, name: str
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    from opentelemetry.metrics import Observation

    def observe(options: CallbackOptions) -> Iterable[Observation]:
        snapshot = shared.get(name)
        pool = (*snapshot.counters, *snapshot.gauges)
        return [Observation(s.value, dict(s.labels)) for s in pool if s.name == name]

    return observe


def _histogram(
    shared: _SharedSnapshot, name: str, part: str
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    from opentelemetry.metrics import Observation

    def observe(options: CallbackOptions) -> Iterable[Observation]:
        snapshot = shared.get(f"{name}.{part}")
        return [
            Observation(h.count if part == "count" else h.sum, dict(h.labels))
            for h in snapshot.histograms
            if h.name == name
        ]

    return observe


__all__ = ["METER_NAME", "PREFIX", "enable", "enabled", "instrument"]
