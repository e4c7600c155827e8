"""``martech-bus connector run``: deliver events from the Kafka bus to one vendor until stopped."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer

from martech_bus.errors import ConfigError

if TYPE_CHECKING:
    from martech_bus.connector import Connector
    from martech_bus.integration import Runtime

app = typer.Typer(
    help="The bus-side delivery connector: Kafka topics -> the adapter's mappings -> the vendor.",
    no_args_is_help=True,
)

#: How often a running connector rewrites its --stats-file (and at every rebalance and exit).
STATS_INTERVAL = 0.5


@app.callback()
def _connector() -> None:
    """The bus-side delivery connector: Kafka topics -> the adapter's mappings -> the vendor."""
    # A callback keeps `connector` a command group even with one command, so `connector run` parses.


def _settings(pairs: list[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"--config {pair!r}: expected KEY=VALUE, e.g. session.timeout.ms=10000"
            )
        settings[key.strip()] = value.strip()
    return settings


class _StatsWriter:
    """Rewrites the stats file after a rebalance at once, otherwise at most every STATS_INTERVAL."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written_at = 0.0
        self._generation = -1

    def __call__(self, stats: Any) -> None:
        generation = stats.assignments + stats.revocations
        now = time.monotonic()
        if generation != self._generation or now - self._written_at >= STATS_INTERVAL:
            self.write(stats)
            self._generation, self._written_at = generation, now

    def write(self, stats: Any) -> None:
        stats.write(self.path)


@app.command("run")
def run(
    adapter: str = typer.Option(
        ..., "--adapter", "-a", help="Adapter name (under $MARTECH_BUS_ADAPTERS_DIR) or folder."
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap servers (default: $MARTECH_BUS_KAFKA_BOOTSTRAP)."
    ),
    group: str | None = typer.Option(
        None, "--group", help="Consumer group (default: martech-connector.<adapter>)."
    ),
    dlq_topic: str | None = typer.Option(
        None,
        "--dlq-topic",
        help="Kafka topic for undecodable records, with Kafka Connect error headers "
        "(default: the dead-letter store, $MARTECH_BUS_DLQ).",
    ),
    topic_prefix: str = typer.Option(
        "",
        "--topic-prefix",
        help="Prepended to every topic name (a namespace on a shared cluster).",
    ),
    batch_size: int = typer.Option(
        500, "--batch-size", min=1, help="Records per fetch, pipeline call and commit."
    ),
    config: list[str] = typer.Option(
        [],
        "--config",
        "-X",
        help="A librdkafka consumer setting KEY=VALUE, repeatable (e.g. session.timeout.ms=10000).",
    ),
    task_id: str | None = typer.Option(
        None, "--task-id", help="This process's id in dead-letter headers (default: the pid)."
    ),
    stats_file: Path | None = typer.Option(
        None,
        "--stats-file",
        help="Keep this process's counters and partitions in a JSON file.",
        show_default=False,
    ),
    max_messages: int | None = typer.Option(
        None, "--max-messages", min=1, help="Stop after this many records are finished."
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="Log level (JSON lines on stderr)."),
    metrics_port: int | None = typer.Option(
        None,
        "--metrics-port",
        min=0,
        help="Serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port).",
        show_default=False,
    ),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", help="The address --metrics-port listens on."
    ),
) -> None:
    """Consume the adapter's canonical topics and deliver them until SIGTERM or Ctrl-C.

    Run several processes with the same --group to share the partitions. Offsets
    are committed only for delivered, skipped or dead-lettered records, so a
    stopped or crashed process loses nothing. --metrics-port serves the pipeline's
    metrics, the connector's counters and its consumer lag to Prometheus.
    """
    from martech_bus.connector import Connector
    from martech_bus.connector.core import default_task_id
    from martech_bus.integration import Runtime
    from martech_bus.observability import otel
    from martech_bus.observability.logs import configure_logging

    consumer_config: dict[str, Any] = dict(_settings(config))
    runtime = Runtime()
    configure_logging(log_level.upper(), registry=runtime.registry)
    writer = _StatsWriter(stats_file) if stats_file is not None else None
    lag = None
    if metrics_port is not None:
        from martech_bus.connector.metrics_server import ConsumerLag, consumer_settings

        lag = ConsumerLag()
        consumer_config = consumer_settings(lag, consumer_config)
    connector = Connector(
        adapter,
        runtime=runtime,
        bootstrap=bootstrap,
        group=group,
        topic_prefix=topic_prefix,
        dead_letter_topic=dlq_topic,
        batch_size=batch_size,
        consumer_config=consumer_config,
        task_id=task_id or default_task_id(),
        on_cycle=writer,
    )
    _watch_dead_letters(runtime, connector)
    otel.enable(runtime.metrics)
    server = None
    if metrics_port is not None:
        from martech_bus.connector.metrics_server import MetricsServer, connector_source

        source = connector_source(runtime.metrics, lambda: connector.stats, lag)
        server = MetricsServer(source, host=metrics_host, port=metrics_port).start()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()  # the loop sees it within one poll timeout; close() commits finished work

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        connector.run(stop, max_messages=max_messages)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if writer is not None:
            writer.write(connector.stats)
        if server is not None:
            server.stop()


def _watch_dead_letters(runtime: Runtime, connector: Connector) -> None:
    """Measure the adapter's dead letters (``dlq_size``, ``dlq_oldest_age_ms``) at each export."""
    from martech_bus.observability.gauges import STORE_PROBE_INTERVAL, dead_letter_probe

    # The adapter's own name is known once the connector has loaded it; read it at each run.
    probe = dead_letter_probe(runtime.dead_letters, lambda: [connector.stats.adapter])
    if probe is not None:
        runtime.metrics.add_probe(probe, min_interval=STORE_PROBE_INTERVAL)


def main(argv: list[str] | None = None) -> int:
    """Run the ``connector`` commands on their own (``python -m martech_bus.connector``)."""
    # The CLI's error handling and exit codes; the group is added here if main.py lacks it.
    from martech_bus.cli.main import app as root
    from martech_bus.cli.main import main as cli_main

    if not any(group.name == "connector" for group in root.registered_groups):
        root.add_typer(app, name="connector")
    return cli_main(["connector", *(argv or [])])
