"""OpenTelemetry: observable instruments read our registry, checked with the SDK's in-memory reader."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from martech_bus.observability import otel
from martech_bus.observability.metrics import Metrics
from tests.test_import_cost import all_modules_loaded_by


def collected(metrics: Metrics | list[Metrics]) -> dict[str, list[tuple[dict[str, Any], float]]]:
    """Instrument name -> (attributes, value) points of one collection."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    otel.instrument(metrics, meter_provider=provider)
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = found.setdefault(metric.name, [])
                points += [(dict(p.attributes or {}), p.value) for p in metric.data.data_points]
    provider.shutdown()
    return found


def recorded() -> Metrics:
    metrics = Metrics()
    metrics.increment("events", 3, integration="acme", outcome="delivered")
    metrics.set_gauge("dlq_size", 2, integration="acme")
    metrics.observe("delivery_latency_ms", 40, times=2, integration="acme")
    return metrics


def test_counters_become_observable_counters_with_labels_as_attributes() -> None:
    points = collected(recorded())["martech_bus.events"]
    assert points == [({"integration": "acme", "outcome": "delivered"}, 3)]


def test_gauges_become_observable_gauges() -> None:
    assert collected(recorded())["martech_bus.dlq_size"] == [({"integration": "acme"}, 2)]


def test_the_latency_histogram_gives_its_count_and_sum() -> None:
    found = collected(recorded())
    assert (
        found["martech_bus.delivery_latency_ms.count"],
        found["martech_bus.delivery_latency_ms.sum"],
    ) == (
        [({"integration": "acme"}, 2)],
        [({"integration": "acme"}, 80)],
    )


def test_several_registries_are_read_as_one() -> None:
    points = collected([recorded(), recorded()])["martech_bus.events"]
    assert points == [({"integration": "acme", "outcome": "delivered"}, 6)]


def test_one_collection_takes_one_snapshot() -> None:
    runs: list[int] = []
    metrics = recorded()
    metrics.add_probe(lambda m: runs.append(1))
    collected(metrics)
    assert runs == [1]


def test_the_setting_is_off_by_default() -> None:
    assert otel.enable(Metrics(), environ={}) is False


def test_the_setting_on_without_opentelemetry_warns_and_does_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    with caplog.at_level(logging.WARNING, logger="martech_bus.observability"):
        assert otel.enable(Metrics(), environ={"MARTECH_BUS_OTEL": "1"}) is False
    assert "opentelemetry is not installed" in caplog.text


def test_the_setting_on_instruments_the_global_meter_provider() -> None:
    assert otel.enable(Metrics(), environ={"MARTECH_BUS_OTEL": "true"}) is True


def test_importing_the_module_does_not_import_opentelemetry() -> None:
    loaded = all_modules_loaded_by("import martech_bus.observability.otel")
    assert not {m for m in loaded if m.startswith("opentelemetry")}
