"""In-process metrics per integration: counters, gauges and a delivery-latency histogram.

``Metrics`` is a thread-safe registry; ``snapshot()`` freezes it into plain data
that the exporters read (``to_emf`` for CloudWatch, ``to_prometheus``) and
``alerts.evaluate`` checks. Every metric is declared in ``SPECS`` with its kind,
unit and allowed labels, so a typo fails at once instead of making a new series.

What ``record_results`` counts, from the pipeline's results:

- ``events_received``: every input event; ``events_validated``: those that passed validation;
- ``events{outcome}``: one per event and route, by outcome (``delivered``, ``skipped``
  with ``reason`` = consent / not_mapped / duplicate / filter, ``retry_later``,
  ``dead_lettered``); an invalid event once, as ``outcome=invalid``. The gateway adds
  ``outcome=quarantined`` itself. Summed over outcomes, it is the events handled;
- ``delivery_retries``: attempts beyond the first (``attempts - 1``);
- ``delivery_latency_ms``: the call's latency, once per delivered event.

Gauges (buffer depth and oldest age, DLQ size and oldest age, quarantine size) are
set by probes: callables registered with ``add_probe`` that measure a store and
set gauges. ``snapshot()`` runs them first (each at most every ``min_interval``
seconds), so every exporter reads fresh gauges without knowing the stores; a probe
that fails is logged and its gauges keep their last value. Counters and the
histogram can be reset after an export (EMF, per Lambda invocation); gauges keep
their last value.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from martech_bus.pipeline import EventResult
    from martech_bus.sinks.base import Outcome

Kind = Literal["counter", "gauge", "histogram"]
Unit = Literal["Count", "Milliseconds"]
LabelKey = tuple[tuple[str, str], ...]
#: Measures something (a store's size) and sets gauges on the registry it is given.
Probe = Callable[["Metrics"], None]

logger = logging.getLogger("martech_bus.observability")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric's declaration. Every series carries ``integration``; other labels are optional."""

    name: str
    kind: Kind
    unit: Unit
    help: str
    labels: tuple[str, ...] = ("integration",)
    rollup: Literal["sum", "max"] = "sum"  # how series combine when a label is dropped


SPECS: Final[Mapping[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        MetricSpec("events_received", "counter", "Count", "Events handed to the pipeline."),
        MetricSpec("events_validated", "counter", "Count", "Events that passed schema validation."),
        MetricSpec(
            "events",
            "counter",
            "Count",
            "Events by outcome, one per route (invalid and quarantined events once).",
            ("integration", "outcome", "reason"),
        ),
        MetricSpec("delivery_retries", "counter", "Count", "Delivery attempts beyond the first."),
        MetricSpec(
            "delivery_latency_ms",
            "histogram",
            "Milliseconds",
            "Time taken to deliver, one observation per delivered event.",
        ),
        MetricSpec("buffer_depth", "gauge", "Count", "Events waiting in the gateway buffer."),
        MetricSpec(
            "buffer_oldest_age_ms",
            "gauge",
            "Milliseconds",
            "Age of the oldest buffered event.",
            rollup="max",
        ),
        MetricSpec("dlq_size", "gauge", "Count", "Dead letters kept."),
        MetricSpec(
            "dlq_oldest_age_ms",
            "gauge",
            "Milliseconds",
            "Age of the oldest dead letter.",
            rollup="max",
        ),
        MetricSpec("quarantine_size", "gauge", "Count", "Items waiting in the gateway quarantine."),
    )
}
OUTCOMES: Final = frozenset(
    {"delivered", "skipped", "retry_later", "dead_lettered", "invalid", "quarantined"}
)
SKIP_REASONS: Final = frozenset({"consent", "not_mapped", "duplicate", "filter"})
#: Upper bounds in milliseconds; one more bucket catches everything above.
LATENCY_BUCKETS_MS: Final = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0)  # fmt: skip
MAX_SAMPLES: Final = 1000  # observed values kept per histogram series between resets (for EMF)


def skip_reason(outcome: Outcome) -> str:
    """consent, not_mapped, duplicate or filter: why a SKIPPED outcome was not sent.

    ``outcome.detail["skip_reason"]`` wins when a producer sets it; otherwise the
    pipeline's reason texts are recognised, and any other deliberate skip is a filter.
    """
    code = outcome.detail.get("skip_reason")
    if isinstance(code, str) and code in SKIP_REASONS:
        return code
    reason = (outcome.reason or "").lower()
    if reason.startswith("consent "):
        return "consent"
    if " does not map " in f" {reason} ":
        return "not_mapped"
    if reason.startswith("already delivered"):
        return "duplicate"
    return "filter"


@dataclass(frozen=True, slots=True)
class Series:
    """One counter or gauge series."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class HistogramSeries:
    """One histogram series: per-bucket counts (``counts[-1]`` is above every bound)."""

    name: str
    labels: Mapping[str, str]
    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float
    count: int
    samples: tuple[float, ...]  # a uniform sample of the observed values, at most MAX_SAMPLES


@dataclass(frozen=True)
class MetricsSnapshot:
    """Metrics frozen at one moment: what the exporters and the alerts read."""

    counters: tuple[Series, ...] = ()
    gauges: tuple[Series, ...] = ()
    histograms: tuple[HistogramSeries, ...] = ()
    specs: Mapping[str, MetricSpec] = field(default_factory=lambda: dict(SPECS))

    def value(self, name: str, /, **labels: str) -> float | None:
        """A counter or gauge combined over the series matching ``labels``; None if none match."""
        spec = self.specs.get(name)
        if spec is None or spec.kind == "histogram":
            raise ValueError(f"{name!r} is not a counter or gauge (known: {_known(self.specs)})")
        pool = self.counters if spec.kind == "counter" else self.gauges
        values = [s.value for s in pool if s.name == name and _matches(s.labels, labels)]
        if not values:
            return None
        return max(values) if spec.rollup == "max" else sum(values)

    def integrations(self) -> list[str]:
        """Every integration with at least one series, sorted."""
        series: Iterable[Series | HistogramSeries] = (
            *self.counters,
            *self.gauges,
            *self.histograms,
        )
        return sorted({s.labels["integration"] for s in series})


def _matches(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in wanted.items())


def _known(specs: Mapping[str, MetricSpec]) -> str:
    return ", ".join(sorted(specs))


class _Histogram:
    __slots__ = ("count", "counts", "samples", "seen", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0
        self.samples: list[float] = []
        self.seen = 0

    def observe(self, bucket: int, value: float, times: int, rng: random.Random) -> None:
        self.counts[bucket] += times
        self.sum += value * times
        self.count += times
        for _ in range(times):  # reservoir sampling keeps a uniform sample of every value seen
            self.seen += 1
            if len(self.samples) < MAX_SAMPLES:
                self.samples.append(value)
            else:
                slot = rng.randrange(self.seen)
                if slot < MAX_SAMPLES:
                    self.samples[slot] = value


class Metrics:
    """A thread-safe registry of the metrics declared in ``SPECS``."""

    def __init__(
        self,
        *,
        buckets_ms: Sequence[float] = LATENCY_BUCKETS_MS,
        specs: Mapping[str, MetricSpec] = SPECS,
        seed: int | None = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if list(buckets_ms) != sorted(set(buckets_ms)) or not buckets_ms:
            raise ValueError(f"histogram buckets must be ascending and distinct: {buckets_ms}")
        self.bounds = tuple(float(b) for b in buckets_ms)
        self.specs = dict(specs)
        self.clock = clock  # paces the probes
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, LabelKey], float] = {}
        self._gauges: dict[tuple[str, LabelKey], float] = {}
        self._histograms: dict[tuple[str, LabelKey], _Histogram] = {}
        self._probes: list[_Paced] = []
        self._probing = threading.Lock()  # one probe round at a time; scrapes may overlap

    # -- probes ---------------------------------------------------------------------------

    def add_probe(self, probe: Probe, *, min_interval: float = 0.0) -> None:
        """Run ``probe`` before every snapshot, at most once every ``min_interval`` seconds."""
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        with self._probing:
            self._probes.append(_Paced(probe, min_interval))

    def probe(self) -> None:
        """Run the probes that are due; one that raises is logged, its gauges keep their values."""
        with self._probing:
            for paced in self._probes:
                now = self.clock()
                if paced.last is not None and now - paced.last < paced.min_interval:
                    continue
                paced.last = now
                try:
                    paced.probe(self)
                except Exception as exc:  # the metrics must still be served when a store is down
                    logger.warning("metrics probe %s failed: %s", _name(paced.probe), exc)

    # -- recording ------------------------------------------------------------------------

    def increment(self, name: str, value: float = 1.0, /, **labels: str) -> None:
        """Add ``value`` (>= 0) to a counter."""
        if value < 0:
            raise ValueError(f"counter {name} cannot go down (got {value})")
        key = (name, self._labels(name, "counter", labels))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + value

    def set_gauge(self, name: str, value: float, /, **labels: str) -> None:
        """Set a gauge to its current value."""
        key = (name, self._labels(name, "gauge", labels))
        with self._lock:
            self._gauges[key] = float(value)

    def observe(self, name: str, value: float, /, *, times: int = 1, **labels: str) -> None:
        """Record ``value`` in a histogram (``times`` identical observations)."""
        key = (name, self._labels(name, "histogram", labels))
        bucket = bisect.bisect_left(self.bounds, value)  # bucket i holds values <= bounds[i]
        with self._lock:
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._histograms[key] = _Histogram(self.bounds)
            histogram.observe(bucket, float(value), times, self._rng)

    def record_results(
        self, results: Sequence[EventResult], *, integration: str, latency_ms: float | None = None
    ) -> None:
        """Count one pipeline call's results (see the module docstring for what is counted)."""
        base = self._labels("events_received", "counter", {"integration": integration})
        counts: Counter[tuple[str, LabelKey]] = Counter()
        counts["events_received", base] += len(results)
        delivered = 0
        for result in results:
            if result.status == "invalid":
                counts["events", _key(integration=integration, outcome="invalid")] += 1
                continue
            counts["events_validated", base] += 1
            for outcome in result.outcomes:
                labels = {"integration": integration, "outcome": str(outcome.kind)}
                if outcome.kind == "skipped":
                    labels["reason"] = skip_reason(outcome)
                counts["events", _key(**labels)] += 1
                if outcome.attempts > 1:
                    counts["delivery_retries", base] += outcome.attempts - 1
                delivered += outcome.kind == "delivered"
        with self._lock:
            for key, value in counts.items():
                if value:
                    self._counters[key] = self._counters.get(key, 0.0) + value
        if delivered and latency_ms is not None:
            self.observe(
                "delivery_latency_ms", latency_ms, times=delivered, integration=integration
            )

    # -- reading --------------------------------------------------------------------------

    def snapshot(self, *, reset: bool = False, probe: bool = True) -> MetricsSnapshot:
        """The current values, probes run first; ``reset`` clears counters and histograms too."""
        if probe and self._probes:
            self.probe()
        with self._lock:
            counters = sorted(self._counters.items())
            gauges = sorted(self._gauges.items())
            histograms = [
                HistogramSeries(
                    name,
                    dict(labels),
                    self.bounds,
                    tuple(h.counts),
                    h.sum,
                    h.count,
                    tuple(h.samples),
                )
                for (name, labels), h in sorted(self._histograms.items(), key=lambda kv: kv[0])
            ]
            if reset:
                self._counters.clear()
                self._histograms.clear()
        return MetricsSnapshot(
            tuple(Series(name, dict(labels), value) for (name, labels), value in counters),
            tuple(Series(name, dict(labels), value) for (name, labels), value in gauges),
            tuple(histograms),
            dict(self.specs),
        )

    def reset(self) -> None:
        """Clear counters and histograms (gauges keep their last value)."""
        with self._lock:
            self._counters.clear()
            self._histograms.clear()

    def _labels(self, name: str, kind: Kind, labels: Mapping[str, str]) -> LabelKey:
        spec = self.specs.get(name)
        if spec is None or spec.kind != kind:
            raise ValueError(f"{name!r} is not a declared {kind} (known: {_known(self.specs)})")
        unknown = set(labels) - set(spec.labels)
        if unknown or "integration" not in labels:
            raise ValueError(
                f"{name}: labels must include integration and be among {spec.labels}, got {sorted(labels)}"
            )
        for label, value in labels.items():
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name}: label {label} must be a non-empty string, got {value!r}")
        if name == "events":
            if labels.get("outcome") not in OUTCOMES:
                raise ValueError(f"events: outcome must be one of {sorted(OUTCOMES)}")
            if "reason" in labels and labels["reason"] not in SKIP_REASONS:
                raise ValueError(f"events: reason must be one of {sorted(SKIP_REASONS)}")
        return _key(**labels)


def _key(**labels: str) -> LabelKey:
    return tuple(sorted(labels.items()))


class _Paced:
    __slots__ = ("last", "min_interval", "probe")

    def __init__(self, probe: Probe, min_interval: float) -> None:
        self.probe = probe
        self.min_interval = min_interval
        self.last: float | None = None


def _name(probe: Probe) -> str:
    return getattr(probe, "__qualname__", None) or type(probe).__name__


def merge_snapshots(snapshots: Sequence[MetricsSnapshot]) -> MetricsSnapshot:
    """One snapshot of several registries (a gateway's and a pipeline's).

    Counters and histograms of the same series add up (histograms with the same
    bounds; others stay side by side), a gauge keeps the last registry's value.
    """
    counters: dict[tuple[str, LabelKey], float] = {}
    gauges: dict[tuple[str, LabelKey], float] = {}
    specs: dict[str, MetricSpec] = {}
    histograms: dict[tuple[str, LabelKey, tuple[float, ...]], HistogramSeries] = {}
    for snapshot in snapshots:
        specs.update(snapshot.specs)
        for series in snapshot.counters:
            key = (series.name, _key(**series.labels))
            counters[key] = counters.get(key, 0.0) + series.value
        for series in snapshot.gauges:
            gauges[(series.name, _key(**series.labels))] = series.value
        for hist in snapshot.histograms:
            slot = (hist.name, _key(**hist.labels), hist.bounds)
            seen = histograms.get(slot)
            histograms[slot] = hist if seen is None else _added(seen, hist)
    return MetricsSnapshot(
        tuple(Series(name, dict(labels), v) for (name, labels), v in sorted(counters.items())),
        tuple(Series(name, dict(labels), v) for (name, labels), v in sorted(gauges.items())),
        tuple(histograms[slot] for slot in sorted(histograms)),
        specs,
    )


def _added(a: HistogramSeries, b: HistogramSeries) -> HistogramSeries:
    return HistogramSeries(
        a.name,
        a.labels,
        a.bounds,
        tuple(x + y for x, y in zip(a.counts, b.counts, strict=True)),
        a.sum + b.sum,
        a.count + b.count,
        (a.samples + b.samples)[:MAX_SAMPLES],
    )


__all__ = [
    "LATENCY_BUCKETS_MS",
    "OUTCOMES",
    "SKIP_REASONS",
    "SPECS",
    "HistogramSeries",
    "MetricSpec",
    "Metrics",
    "MetricsSnapshot",
    "Probe",
    "Series",
    "merge_snapshots",
    "skip_reason",
]
