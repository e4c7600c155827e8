"""CloudWatch Embedded Metric Format: metrics as JSON log lines that CloudWatch Logs extracts.

Per the EMF specification, a document is a JSON object with
``_aws: {Timestamp: <ms>, CloudWatchMetrics: [{Namespace, Dimensions, Metrics}]}``;
each dimension and metric named there is a top-level member (dimension values
strings, metric values a number or an array of numbers). Limits honoured here:
at most 100 metric definitions per document, at most 100 values per metric
array, at most 30 keys per dimension set; more becomes more documents.

Series are grouped by the labels the dimension sets use; other labels (a skip's
``reason``) are summed away. A dimension set only applies to a group that has
all its keys: with the default ``[["integration"], ["integration", "outcome"]]``
``events`` is published per integration and per integration and outcome, the
other metrics per integration. A histogram is published as its sampled values,
so CloudWatch computes percentiles; counters and gauges appear once even when a
histogram spills over into more documents.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Final

from martech_bus.observability.metrics import Metrics, MetricSpec, MetricsSnapshot

DEFAULT_NAMESPACE: Final = "martech-bus"
DEFAULT_DIMENSIONS: Final = (("integration",), ("integration", "outcome"))
MAX_METRICS_PER_DOCUMENT: Final = 100
MAX_VALUES_PER_METRIC: Final = 100
MAX_DIMENSION_KEYS: Final = 30

_Group = tuple[tuple[str, str], ...]
_Entry = tuple[str, str, float | list[float]]  # name, unit, value(s)


def to_emf(
    snapshot: MetricsSnapshot,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    dimensions: Sequence[Sequence[str]] = DEFAULT_DIMENSIONS,
    timestamp_ms: int,
) -> list[dict[str, Any]]:
    """EMF documents for ``snapshot`` (none when it holds nothing)."""
    if not namespace.strip():
        raise ValueError("an EMF namespace must not be blank")
    for dimension_set in dimensions:
        if len(dimension_set) > MAX_DIMENSION_KEYS:
            raise ValueError(
                f"a dimension set has at most {MAX_DIMENSION_KEYS} keys: {dimension_set}"
            )
    used = {key for dimension_set in dimensions for key in dimension_set}
    scalars: dict[_Group, dict[str, float]] = {}
    arrays: dict[_Group, dict[str, list[float]]] = {}
    for series in (*snapshot.counters, *snapshot.gauges):
        spec = snapshot.specs[series.name]
        values = scalars.setdefault(_group(series.labels, used), {})
        values[series.name] = _combine(spec, values.get(series.name), series.value)
    for histogram in snapshot.histograms:
        samples = arrays.setdefault(_group(histogram.labels, used), {})
        samples.setdefault(histogram.name, []).extend(histogram.samples)
    documents: list[dict[str, Any]] = []
    for group in sorted(scalars.keys() | arrays.keys()):
        labels = dict(group)
        clash = labels.keys() & (scalars.get(group, {}).keys() | arrays.get(group, {}).keys())
        if clash:
            raise ValueError(f"metric names {sorted(clash)} are also dimension names")
        applicable = [list(s) for s in dimensions if set(s) <= labels.keys()] or [[]]
        for entries in _pages(snapshot, scalars.get(group, {}), arrays.get(group, {})):
            documents.append(
                {
                    "_aws": {
                        "Timestamp": int(timestamp_ms),
                        "CloudWatchMetrics": [
                            {
                                "Namespace": namespace,
                                "Dimensions": [list(s) for s in applicable],
                                "Metrics": [{"Name": n, "Unit": u} for n, u, _ in entries],
                            }
                        ],
                    },
                    **labels,
                    **{name: value for name, _, value in entries},
                }
            )
    return documents


def _group(labels: Mapping[str, str], used: set[str]) -> _Group:
    return tuple(sorted((k, v) for k, v in labels.items() if k in used))


def _combine(spec: MetricSpec, old: float | None, new: float) -> float:
    if old is None:
        return new
    if spec.kind == "gauge" and spec.rollup == "max":
        return max(old, new)
    return old + new


def _pages(
    snapshot: MetricsSnapshot, scalars: dict[str, float], arrays: dict[str, list[float]]
) -> list[list[_Entry]]:
    """Metric entries per document: scalars once, arrays in chunks, <= 100 metrics each."""
    chunks = {
        name: [
            values[i : i + MAX_VALUES_PER_METRIC]
            for i in range(0, len(values), MAX_VALUES_PER_METRIC)
        ]
        for name, values in sorted(arrays.items())
    }
    rounds = max((len(c) for c in chunks.values()), default=1)
    pages: list[list[_Entry]] = []
    for index in range(rounds):
        entries: list[_Entry] = []
        if index == 0:
            entries += [
                (name, snapshot.specs[name].unit, _number(value))
                for name, value in sorted(scalars.items())
            ]
        entries += [
            (name, snapshot.specs[name].unit, parts[index])
            for name, parts in chunks.items()
            if index < len(parts)
        ]
        pages += [
            entries[i : i + MAX_METRICS_PER_DOCUMENT]
            for i in range(0, len(entries), MAX_METRICS_PER_DOCUMENT)
        ]
    return pages


def _number(value: float) -> float:
    return int(value) if float(value).is_integer() else value


class EmfPublisher:
    """Prints a ``Metrics``' snapshot as EMF lines and resets its counters (per invocation)."""

    def __init__(
        self,
        *,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.time,
        namespace: str = DEFAULT_NAMESPACE,
        dimensions: Sequence[Sequence[str]] = DEFAULT_DIMENSIONS,
    ) -> None:
        self.stream = stream  # None: sys.stdout at flush time (Lambda sends it to CloudWatch Logs)
        self.clock = clock
        self.namespace = namespace
        self.dimensions = dimensions

    def flush(self, metrics: Metrics) -> int:
        """Write one JSON line per document; the number of documents written."""
        snapshot = metrics.snapshot(reset=True)
        documents = to_emf(
            snapshot,
            namespace=self.namespace,
            dimensions=self.dimensions,
            timestamp_ms=int(self.clock() * 1000),
        )
        stream = self.stream if self.stream is not None else sys.stdout
        for document in documents:
            stream.write(json.dumps(document, separators=(",", ":")) + "\n")
        stream.flush()
        return len(documents)


__all__ = ["DEFAULT_DIMENSIONS", "DEFAULT_NAMESPACE", "EmfPublisher", "to_emf"]
