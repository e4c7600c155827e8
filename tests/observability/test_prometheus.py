"""Our metrics through prometheus-client: the text exposition, read back by its own parser."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from martech_bus.observability.metrics import Metrics, MetricsSnapshot, merge_snapshots
from martech_bus.observability.prometheus import SnapshotCollector, registry_of, to_prometheus


def recorded() -> Metrics:
    metrics = Metrics(buckets_ms=(10, 100))
    metrics.increment("events", 3, integration="acme", outcome="delivered")
    metrics.increment("events", integration="acme", outcome="skipped", reason="consent")
    metrics.set_gauge("buffer_depth", 12, integration="acme")
    for value in (5, 50, 500):
        metrics.observe("delivery_latency_ms", value, integration="acme")
    return metrics


def exposition() -> str:
    return to_prometheus(recorded().snapshot())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample, as prometheus-client's parser reads the text."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_parser_reads_every_family_with_its_type() -> None:
    types = {f.name: f.type for f in text_string_to_metric_families(exposition())}
    assert types == {
        "martech_bus_events": "counter",
        "martech_bus_buffer_depth": "gauge",
        "martech_bus_delivery_latency_seconds": "histogram",
    }


def test_counters_end_in_total() -> None:
    found = samples(exposition())
    key = ("martech_bus_events_total", (("integration", "acme"), ("outcome", "delivered")))
    assert found[key] == 3


def test_series_of_one_family_may_carry_different_labels() -> None:
    found = samples(exposition())
    labels = (("integration", "acme"), ("outcome", "skipped"), ("reason", "consent"))
    assert found["martech_bus_events_total", labels] == 1


def test_gauges_keep_their_name() -> None:
    assert samples(exposition())["martech_bus_buffer_depth", (("integration", "acme"),)] == 12


def test_a_histogram_has_cumulative_buckets_sum_and_count_in_seconds() -> None:
    found = {
        (name, dict(labels).get("le")): value
        for (name, labels), value in samples(exposition()).items()
        if name.startswith("martech_bus_delivery_latency_seconds")
    }
    assert found == {
        ("martech_bus_delivery_latency_seconds_bucket", "0.01"): 1,
        ("martech_bus_delivery_latency_seconds_bucket", "0.1"): 2,
        ("martech_bus_delivery_latency_seconds_bucket", "+Inf"): 3,
        ("martech_bus_delivery_latency_seconds_count", None): 3,
        ("martech_bus_delivery_latency_seconds_sum", None): 0.555,
    }


def test_each_family_is_typed_once() -> None:
    types = [x for x in exposition().splitlines() if x.startswith("# TYPE")]
    assert len(types) == len(set(types)) == 3


def test_label_values_are_escaped() -> None:
    metrics = Metrics()
    metrics.increment("events_received", integration='a"b\\c\nd')
    assert 'integration="a\\"b\\\\c\\nd"' in to_prometheus(metrics.snapshot())


def test_an_empty_snapshot_is_empty_text() -> None:
    assert to_prometheus(MetricsSnapshot()) == ""


def test_the_collector_takes_a_new_snapshot_at_every_scrape() -> None:
    metrics = Metrics()
    registry = registry_of(metrics.snapshot)
    metrics.set_gauge("dlq_size", 1, integration="acme")
    first = generate_latest(registry).decode()
    metrics.set_gauge("dlq_size", 4, integration="acme")
    second = generate_latest(registry).decode()
    key = ("martech_bus_dlq_size", (("integration", "acme"),))
    assert (samples(first)[key], samples(second)[key]) == (1, 4)


def test_merged_registries_give_one_family_with_summed_counters() -> None:
    a, b = recorded(), recorded()
    text = to_prometheus(merge_snapshots([a.snapshot(), b.snapshot()]))
    key = ("martech_bus_events_total", (("integration", "acme"), ("outcome", "delivered")))
    assert samples(text)[key] == 6
    assert (
        samples(text)["martech_bus_delivery_latency_seconds_count", (("integration", "acme"),)] == 6
    )


def test_a_collector_can_use_another_prefix() -> None:
    families = list(SnapshotCollector(recorded().snapshot, prefix="shop").collect())
    assert {family.name for family in families} == {
        "shop_events",
        "shop_buffer_depth",
        "shop_delivery_latency_seconds",
    }
