"""The connector's ``/metrics``: its pipeline metrics, its counters and its consumer lag.

``connector run --metrics-port PORT`` serves, through prometheus-client's HTTP
server (a thread), one merged snapshot per scrape of:

- the pipeline's ``Metrics`` (``events_total{outcome}``, latency, retries), with
  ``dlq_size`` / ``dlq_oldest_age_ms`` measured from the dead-letter store;
- ``ConnectorStats`` as ``connector_*`` series (records fetched and finished by
  outcome, held for a retry, pauses, commits, rebalances, assigned partitions);
- ``connector_consumer_lag{topic, partition}`` from librdkafka's statistics
  (``statistics.interval.ms``): computed by librdkafka from the fetch responses,
  so it costs no request of its own.

Every series carries ``integration`` (the adapter), like the rest of the registry.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from martech_bus.errors import ConfigError
from martech_bus.observability.metrics import (
    MetricSpec,
    MetricsSnapshot,
    Series,
    merge_snapshots,
)

if TYPE_CHECKING:
    from martech_bus.connector.stats import ConnectorStats
    from martech_bus.observability.metrics import Metrics

logger = logging.getLogger("martech_bus.connector")

DEFAULT_HOST: Final = "127.0.0.1"
#: How often librdkafka reports statistics (and so the lag), when metrics are served.
STATISTICS_INTERVAL_MS: Final = 5000
#: Finished records by how they finished (``ConnectorStats`` field names).
FINISHED: Final = ("delivered", "skipped", "shadowed", "dead_lettered", "invalid", "undecodable")
_COUNTERS: Final = {
    "connector_fetched": ("fetched", "Records fetched from the bus."),
    "connector_retried": ("retried", "Records sent through the pipeline again after a backoff."),
    "connector_pauses": ("pauses", "Partitions paused for a backoff (vendor outage)."),
    "connector_resumes": ("resumes", "Partitions resumed after a backoff."),
    "connector_commits": ("commits", "Offset commits."),
    "connector_assignments": ("assignments", "Rebalances that assigned partitions."),
    "connector_revocations": ("revocations", "Rebalances that revoked partitions."),
}

CONNECTOR_SPECS: Final[Mapping[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        *(MetricSpec(name, "counter", "Count", what) for name, (_, what) in _COUNTERS.items()),
        MetricSpec(
            "connector_records",
            "counter",
            "Count",
            "Records finished, by outcome (delivered, skipped, shadowed, dead_lettered, "
            "invalid, undecodable): their offsets may be committed.",
            ("integration", "outcome"),
        ),
        MetricSpec("connector_waiting", "gauge", "Count", "Records held for a retry right now."),
        MetricSpec(
            "connector_assigned_partitions", "gauge", "Count", "Partitions assigned right now."
        ),
        MetricSpec(
            "connector_consumer_lag",
            "gauge",
            "Count",
            "Records between the group's committed offset and the end of a partition "
            "(librdkafka's consumer_lag; -1 unknown is left out).",
            ("integration", "topic", "partition"),
        ),
    )
}


class ConsumerLag:
    """The latest lag per partition, from librdkafka's statistics (its ``stats_cb``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lag: dict[tuple[str, int], int] = {}

    def __call__(self, statistics: str) -> None:
        """Read one statistics document (JSON); partitions not assigned any more are dropped."""
        try:
            topics = json.loads(statistics).get("topics") or {}
            lag: dict[tuple[str, int], int] = {}
            for topic, body in topics.items():
                for key, partition in (body.get("partitions") or {}).items():
                    number = int(key)
                    value = partition.get("consumer_lag", -1)
                    # -1: the internal "unassigned" partition, or a lag librdkafka does not know.
                    if number >= 0 and isinstance(value, int) and value >= 0:
                        lag[topic, number] = value
        except (ValueError, AttributeError, TypeError) as exc:  # a callback must never raise
            logger.warning("unreadable librdkafka statistics: %s", exc)
            return
        with self._lock:
            self._lag = lag

    def current(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._lag)


def connector_snapshot(stats: ConnectorStats, lag: ConsumerLag | None = None) -> MetricsSnapshot:
    """``stats`` (and ``lag``) as a snapshot, read without a lock: every field is one int."""
    name = stats.adapter
    counters = [
        Series(metric, {"integration": name}, float(getattr(stats, field)))
        for metric, (field, _) in _COUNTERS.items()
    ]
    counters += [
        Series("connector_records", {"integration": name, "outcome": outcome}, float(count))
        for outcome in FINISHED
        if (count := getattr(stats, outcome))
    ]
    gauges = [
        Series("connector_waiting", {"integration": name}, float(stats.waiting)),
        Series("connector_assigned_partitions", {"integration": name}, float(len(stats.assigned))),
    ]
    for (topic, partition), value in sorted((lag.current() if lag else {}).items()):
        labels = {"integration": name, "topic": topic, "partition": str(partition)}
        gauges.append(Series("connector_consumer_lag", labels, float(value)))
    return MetricsSnapshot(tuple(counters), tuple(gauges), (), dict(CONNECTOR_SPECS))


def connector_source(
    metrics: Metrics, stats: Callable[[], ConnectorStats], lag: ConsumerLag | None = None
) -> Callable[[], MetricsSnapshot]:
    """What one scrape reads: the pipeline's metrics (probes run) and the connector's."""
    return lambda: merge_snapshots([metrics.snapshot(), connector_snapshot(stats(), lag)])


def consumer_settings(lag: ConsumerLag, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` plus the statistics callback (every 5 s unless the config says otherwise)."""
    return {"statistics.interval.ms": STATISTICS_INTERVAL_MS, **config, "stats_cb": lag}


class MetricsServer:
    """prometheus-client's HTTP server on ``host:port`` (0: any free port), in a daemon thread."""

    def __init__(self, source: Callable[[], MetricsSnapshot], *, host: str, port: int) -> None:
        self.source = source
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> MetricsServer:
        from martech_bus.observability.prometheus import prometheus_client, registry_of

        try:
            server, thread = prometheus_client().start_http_server(
                self.port, addr=self.host, registry=registry_of(self.source)
            )
        except OSError as exc:  # a port in use, an address not on this host
            raise ConfigError(
                f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._server, self._thread = server, thread
        self.port = int(server.server_port)
        logger.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


__all__ = [
    "CONNECTOR_SPECS",
    "DEFAULT_HOST",
    "FINISHED",
    "ConsumerLag",
    "MetricsServer",
    "connector_snapshot",
    "connector_source",
    "consumer_settings",
]
