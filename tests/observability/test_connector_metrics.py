"""The connector's /metrics: pipeline metrics, its counters, dead letters and consumer lag."""

from __future__ import annotations

import json
import re
import signal
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from martech_bus.connector.metrics_server import (
    ConsumerLag,
    MetricsServer,
    connector_snapshot,
    connector_source,
    consumer_settings,
)
from martech_bus.connector.stats import ConnectorStats
from martech_bus.errors import ConfigError
from martech_bus.observability.gauges import dead_letter_probe
from martech_bus.observability.metrics import Metrics
from tests.connector.conftest import World
from tests.connector.fakes import FakeConsumer
from tests.connector.helpers import Bus, Vendor, order, wait_until
from tests.connector.test_connector_logic import P0
from tests.connector.test_processes import Process, connector_process

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

STATISTICS = {
    "topics": {
        "martech.order_completed.v1": {
            "partitions": {
                "0": {"consumer_lag": 7},
                "1": {"consumer_lag": -1},  # not known yet
                "-1": {"consumer_lag": -1},  # librdkafka's internal "unassigned" partition
            }
        }
    }
}


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return parse(answer.read().decode("utf-8"))


def one(samples: Samples, name: str, **labels: str) -> float | None:
    wanted = set(labels.items())
    found = [v for (n, ls), v in samples.items() if n == name and wanted <= set(ls)]
    return sum(found) if found else None


def stats() -> ConnectorStats:
    made = ConnectorStats("meta_capi", "martech-connector.meta_capi")
    made.fetched, made.delivered, made.dead_lettered, made.waiting = 9, 6, 1, 2
    made.assigned = {("martech.order_completed.v1", 0), ("martech.order_completed.v1", 1)}
    return made


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    metrics = Metrics()
    metrics.increment("events", 6, integration="meta_capi", outcome="delivered")
    lag = ConsumerLag()
    lag(json.dumps(STATISTICS))
    with MetricsServer(connector_source(metrics, stats, lag), host="127.0.0.1", port=0) as running:
        yield running


def test_the_stats_become_counters_and_gauges_of_the_adapter() -> None:
    snapshot = connector_snapshot(stats())
    assert (
        snapshot.value("connector_fetched", integration="meta_capi"),
        snapshot.value("connector_records", integration="meta_capi", outcome="delivered"),
        snapshot.value("connector_records", integration="meta_capi", outcome="dead_lettered"),
        snapshot.value("connector_waiting", integration="meta_capi"),
        snapshot.value("connector_assigned_partitions", integration="meta_capi"),
    ) == (9, 6, 1, 2, 2)


def test_the_lag_keeps_known_lags_of_real_partitions() -> None:
    lag = ConsumerLag()
    lag(json.dumps(STATISTICS))
    assert lag.current() == {("martech.order_completed.v1", 0): 7}


def test_unreadable_statistics_keep_the_last_lag_and_never_raise() -> None:
    lag = ConsumerLag()
    lag(json.dumps(STATISTICS))
    lag("not json")
    lag(json.dumps({"topics": {"t": {"partitions": {"x": {}}}}}))
    assert lag.current() == {("martech.order_completed.v1", 0): 7}


def test_the_statistics_callback_is_added_and_an_explicit_interval_kept() -> None:
    lag = ConsumerLag()
    settings = consumer_settings(
        lag, {"statistics.interval.ms": "1000", "session.timeout.ms": "6000"}
    )
    assert settings == {
        "statistics.interval.ms": "1000",
        "session.timeout.ms": "6000",
        "stats_cb": lag,
    }


def test_the_server_answers_on_loopback_with_every_part(server: MetricsServer) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    samples = scrape(server.url)
    assert (
        one(samples, "martech_bus_events_total", integration="meta_capi", outcome="delivered"),
        one(samples, "martech_bus_connector_records_total", outcome="delivered"),
        one(samples, "martech_bus_connector_consumer_lag", partition="0"),
    ) == (6, 6, 7)


def test_a_stopped_server_no_longer_answers() -> None:
    running = MetricsServer(Metrics().snapshot, host="127.0.0.1", port=0).start()
    url = running.url
    running.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)


def test_a_port_in_use_is_a_configuration_error(server: MetricsServer) -> None:
    with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{server.port}"):
        MetricsServer(Metrics().snapshot, host="127.0.0.1", port=server.port).start()


def test_a_dead_letter_shows_in_the_connectors_metrics(
    offline: World, vendor: Vendor, frames: Any
) -> None:
    vendor.status = 400  # the vendor refuses the event for good: a dead letter
    fake = FakeConsumer()
    fake.append(*P0, frames(1))
    runtime = offline.runtime()
    connector = offline.connector(runtime, consumer_factory=lambda config: fake, batch_size=10)
    probe = dead_letter_probe(runtime.dead_letters, lambda: [connector.stats.adapter])
    assert probe is not None
    runtime.metrics.add_probe(probe)
    connector.run(max_messages=1)
    source = connector_source(runtime.metrics, lambda: connector.stats)
    with MetricsServer(source, host="127.0.0.1", port=0) as running:
        samples = scrape(running.url)
    assert (
        one(samples, "martech_bus_events_total", integration="meta_capi", outcome="dead_lettered"),
        one(samples, "martech_bus_connector_records_total", outcome="dead_lettered"),
        one(samples, "martech_bus_dlq_size", integration="meta_capi"),
    ) == (1, 1, 1)


@pytest.mark.integration
def test_connector_run_serves_its_metrics_while_it_delivers(
    world: World, bus: Bus, vendor: Vendor, processes: list[Process]
) -> None:
    process = connector_process(world, bus, "m", bus.prefix + "metrics", "--metrics-port", "0")
    processes.append(process)
    address = re.compile(r"metrics on (http://127\.0\.0\.1:\d+/metrics)")
    wait_until(lambda: address.search(process.output()), 30, "the metrics address in the log")
    match = address.search(process.output())
    assert match is not None
    url = match[1]
    wait_until(lambda: process.stats().get("assigned"), 45, "the partitions to be assigned")
    bus.publish([order(n) for n in range(3)])
    wait_until(
        lambda: one(scrape(url), "martech_bus_connector_records_total", outcome="delivered") == 3,
        30,
        "three deliveries in /metrics",
    )
    samples = scrape(url)
    process.popen.send_signal(signal.SIGTERM)
    assert process.popen.wait(30) == 0, process.output()
    assert one(samples, "martech_bus_events_total", outcome="delivered") == 3
    assert one(samples, "martech_bus_dlq_size", integration="meta_capi") == 0
    assert one(samples, "martech_bus_delivery_latency_seconds_count", integration="meta_capi") == 3
