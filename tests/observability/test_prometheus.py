"""The Prometheus text exposition format, written without prometheus-client."""

from __future__ import annotations

import re

from martech_bus.observability.metrics import Metrics, MetricsSnapshot
from martech_bus.observability.prometheus import to_prometheus

# A sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(
    r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|[+-]Inf|NaN)'
)


def exposition() -> str:
    metrics = Metrics(buckets_ms=(10, 100))
    metrics.increment("events", 3, integration="acme", outcome="delivered")
    metrics.increment("events", integration="acme", outcome="skipped", reason="consent")
    metrics.set_gauge("buffer_depth", 12, integration="acme")
    for value in (5, 50, 500):
        metrics.observe("delivery_latency_ms", value, integration="acme")
    return to_prometheus(metrics.snapshot())


def test_every_line_is_a_comment_or_a_valid_sample() -> None:
    for line in exposition().splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.fullmatch(line), line


def test_counters_end_in_total() -> None:
    text = exposition()
    assert "# TYPE martech_bus_events_total counter" in text
    assert 'martech_bus_events_total{integration="acme",outcome="delivered"} 3' in text


def test_gauges_keep_their_name() -> None:
    assert 'martech_bus_buffer_depth{integration="acme"} 12\n' in exposition()


def test_a_histogram_has_cumulative_buckets_sum_and_count_in_seconds() -> None:
    lines = [x for x in exposition().splitlines() if x.startswith("martech_bus_delivery_latency")]
    assert lines == [
        'martech_bus_delivery_latency_seconds_bucket{integration="acme",le="0.01"} 1',
        'martech_bus_delivery_latency_seconds_bucket{integration="acme",le="0.1"} 2',
        'martech_bus_delivery_latency_seconds_bucket{integration="acme",le="+Inf"} 3',
        'martech_bus_delivery_latency_seconds_sum{integration="acme"} 0.555',
        'martech_bus_delivery_latency_seconds_count{integration="acme"} 3',
    ]


def test_each_family_is_typed_once() -> None:
    types = [x for x in exposition().splitlines() if x.startswith("# TYPE")]
    assert len(types) == len(set(types)) == 3


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.increment("events_received", integration='a"b\\c\nd')
    assert 'integration="a\\"b\\\\c\\nd"' in to_prometheus(metrics.snapshot())


def test_an_empty_snapshot_is_empty_text() -> None:
    assert to_prometheus(MetricsSnapshot()) == ""
