"""Probes set the buffer, dead-letter and quarantine gauges at every export."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.gateway.app import create_app
from martech_bus.gateway.metrics import gateway_metrics, watch_stores
from martech_bus.gateway.quarantine import MemoryQuarantineStore, QuarantinedItem
from martech_bus.observability.gauges import buffer_probe, dead_letter_probe, quarantine_probe
from martech_bus.observability.metrics import Metrics
from martech_bus.sinks.dlq import DeadLetterStore
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from martech_bus.sinks.dlq_sqs import SqsDeadLetterStore
from martech_bus.testing.clock import FakeTime
from tests.cli.test_dlq_cli import dead_letter
from tests.gateway.conftest import MakeGateway

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def dead_letters(*ages_in_minutes: float, vendor: str = "meta_capi") -> MemoryDeadLetterStore:
    store = MemoryDeadLetterStore(clock=lambda: NOW)
    for n, minutes in enumerate(ages_in_minutes):
        store.put(dead_letter(n, vendor=vendor, when=NOW - timedelta(minutes=minutes)))
    return store


def quarantined(*sources: str) -> MemoryQuarantineStore:
    store = MemoryQuarantineStore()
    for n, source in enumerate(sources):
        store.put(
            QuarantinedItem(
                record_id=f"r{n}",
                source=source,
                payload=b"{}",
                received_at=0.0,
                quarantined_at=0.0,
                reason="no route",
            )
        )
    return store


def gauge(metrics: Metrics, name: str, integration: str) -> float | None:
    return metrics.snapshot().value(name, integration=integration)


def test_the_buffer_probe_sets_depth_and_oldest_age() -> None:
    fake = FakeTime()
    buffer = MemoryBufferStore(clock=fake.clock)
    buffer.append_one("canonical", b"{}")
    fake.advance(90)
    metrics = Metrics()
    metrics.add_probe(buffer_probe(buffer, "gateway"))
    assert (
        gauge(metrics, "buffer_depth", "gateway"),
        gauge(metrics, "buffer_oldest_age_ms", "gateway"),
    ) == (1, 90_000)


def test_the_dead_letter_probe_measures_each_integration() -> None:
    store = dead_letters(30, 5)
    store.put(dead_letter(9, vendor="braze", when=NOW))
    metrics = Metrics()
    probe = dead_letter_probe(store, ["meta_capi", "braze"])
    assert probe is not None
    metrics.add_probe(probe)
    assert (
        gauge(metrics, "dlq_size", "meta_capi"),
        gauge(metrics, "dlq_oldest_age_ms", "meta_capi"),
        gauge(metrics, "dlq_size", "braze"),
    ) == (2, 30 * 60_000, 1)


def test_an_empty_dead_letter_store_reads_zero() -> None:
    metrics = Metrics()
    probe = dead_letter_probe(dead_letters(), ["meta_capi"])
    assert probe is not None
    metrics.add_probe(probe)
    assert (
        gauge(metrics, "dlq_size", "meta_capi"),
        gauge(metrics, "dlq_oldest_age_ms", "meta_capi"),
    ) == (0, 0)


def test_the_dead_letter_probe_reads_its_integrations_at_each_run() -> None:
    names = ["meta_capi"]
    metrics = Metrics()
    probe = dead_letter_probe(dead_letters(1, vendor="braze"), lambda: names)
    assert probe is not None
    metrics.add_probe(probe)
    metrics.snapshot()
    names[0] = "braze"  # a connector learns its adapter's name when it starts
    assert gauge(metrics, "dlq_size", "braze") == 1


def test_an_sqs_dead_letter_store_is_not_probed() -> None:
    store: DeadLetterStore = SqsDeadLetterStore("https://sqs.invalid/1/dlq", client=object())
    assert dead_letter_probe(store, ["meta_capi"]) is None


def test_the_quarantine_probe_counts_per_source_and_the_rest_once() -> None:
    metrics = Metrics()
    store = quarantined("segment", "segment", "shopify", "retired")
    metrics.add_probe(quarantine_probe(store, ["segment", "shopify"], others="gateway"))
    snapshot = metrics.snapshot()
    assert {s.labels["integration"]: s.value for s in snapshot.gauges} == {
        "segment": 2,
        "shopify": 1,
        "gateway": 1,
    }


def test_a_probe_runs_at_most_once_per_interval() -> None:
    fake = FakeTime()
    runs: list[float] = []
    metrics = Metrics(clock=fake.clock)
    metrics.add_probe(lambda m: runs.append(fake.clock()), min_interval=10)
    metrics.snapshot()
    fake.advance(5)
    metrics.snapshot()
    fake.advance(5)
    metrics.snapshot()
    assert len(runs) == 2


def test_a_failing_probe_is_logged_and_its_gauges_keep_their_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    metrics.set_gauge("dlq_size", 3, integration="acme")

    def broken(m: Metrics) -> None:
        raise OSError("disk I/O error")

    metrics.add_probe(broken)
    with caplog.at_level(logging.WARNING, logger="martech_bus.observability"):
        assert gauge(metrics, "dlq_size", "acme") == 3
    assert "disk I/O error" in caplog.text


def test_a_snapshot_can_skip_the_probes() -> None:
    runs: list[int] = []
    metrics = Metrics()
    metrics.add_probe(lambda m: runs.append(1))
    metrics.snapshot(probe=False)
    assert runs == []


def test_the_gateway_metrics_page_shows_the_stores_it_watches(make_gateway: MakeGateway) -> None:
    metrics = gateway_metrics()
    watch_stores(
        metrics,
        dead_letters=dead_letters(10, 20),
        integrations=["meta_capi"],
        quarantine=quarantined("segment"),
        sources=["segment", "shopify"],
    )
    client = TestClient(create_app(make_gateway(metrics=metrics)), client=("127.0.0.1", 50000))
    text = client.get("/metrics").text
    found = {
        (sample.name, sample.labels["integration"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert {
        key: found.get(key)
        for key in [
            ("martech_bus_dlq_size", "meta_capi"),
            ("martech_bus_dlq_oldest_age_seconds", "meta_capi"),
            ("martech_bus_quarantine_size", "segment"),
            ("martech_bus_quarantine_size", "shopify"),
            ("martech_bus_buffer_depth", "gateway"),
        ]
    } == {
        ("martech_bus_dlq_size", "meta_capi"): 2,
        ("martech_bus_dlq_oldest_age_seconds", "meta_capi"): 1200,
        ("martech_bus_quarantine_size", "segment"): 1,
        ("martech_bus_quarantine_size", "shopify"): 0,
        ("martech_bus_buffer_depth", "gateway"): 0,
    }
