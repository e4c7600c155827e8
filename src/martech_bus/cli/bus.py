"""``martech-bus bus ...``: topics on the Kafka bus, publishing events, tailing a topic."""

from __future__ import annotations

import base64
import json
import sys
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from martech_bus.cli.options import SchemasOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console, show_error
from martech_bus.config import Paths
from martech_bus.errors import ConfigError, Location, Problem
from martech_bus.kafka_client import client_properties, with_client_properties

app = typer.Typer(
    help="The Kafka bus: provision topics, publish canonical events, tail a topic.",
    no_args_is_help=True,
)

BootstrapOption = typer.Option(
    None,
    "--bootstrap",
    help="Kafka host:port (default: $MARTECH_BUS_KAFKA_BOOTSTRAP, else 127.0.0.1:9092).",
    show_default=False,
)
ConfigOption = typer.Option(
    None,
    "--config",
    help="Bus config (default: $MARTECH_BUS_BUS_CONFIG, else ./bus.yaml if present).",
    show_default=False,
)


def _registry(schemas: Path | None) -> Any:
    from martech_bus.schema.registry import SchemaRegistry

    return SchemaRegistry.load(Paths.resolve(schemas_dir=schemas).schemas_dir)


# --------------------------------------------------------------------------- topics


@app.command("topics")
def topics(
    apply: bool = typer.Option(
        False, "--apply", help="Create the missing topics (nothing is ever changed or deleted)."
    ),
    bootstrap: str | None = BootstrapOption,
    schemas: Path | None = SchemasOption,
    config: Path | None = ConfigOption,
    timeout: float = typer.Option(15.0, "--timeout", help="Seconds to wait for the broker."),
) -> None:
    """Compare the topics the catalogue needs with the broker's (exit 1 if they differ)."""
    from martech_bus.bus.topics import (
        ProvisioningError,
        admin_client,
        apply_topics,
        inspect_topics,
        load_bus_config,
        plan_topics,
    )

    bus_config = load_bus_config(config)
    plan = plan_topics(_registry(schemas), bus_config)
    admin = admin_client(bootstrap)
    try:
        statuses = (
            apply_topics(admin, plan, timeout=timeout)
            if apply
            else inspect_topics(admin, plan, timeout=timeout)
        )
    except ProvisioningError as exc:
        show_error(exc)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    table = Table(title=f"Bus topics ({len(plan)} planned)")
    for column in ("topic", "event", "versions", "partitions", "replication", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("differences")
    for status in statuses:
        wanted = status.desired.settings
        table.add_row(
            status.desired.name,
            status.desired.event,
            ", ".join(f"v{v}" for v in status.desired.versions),
            _versus(status.partitions, wanted.partitions),
            _versus(status.replication_factor, wanted.replication_factor),
            status.state,
            "; ".join(filter(None, [status.error, *status.differences])),
        )
    console.print(table)
    unsettled = [status for status in statuses if not status.settled]
    created = sum(status.created for status in statuses)
    if created:
        console.print(f"created {created} topic{'s' * (created != 1)}")
    if unsettled:
        hint = "" if apply else " (run with --apply to create missing topics)"
        err_console.print(
            f"{len(unsettled)} topic{'s' * (len(unsettled) != 1)} differ from the plan{hint}",
            markup=False,
        )
        raise typer.Exit(EXIT_CHECK_FAILED)


def _versus(actual: int | None, wanted: int) -> str:
    """``3`` when they agree, ``1 (want 3)`` when not, ``- (want 3)`` when missing."""
    if actual == wanted:
        return str(wanted)
    return f"{'-' if actual is None else actual} (want {wanted})"


# --------------------------------------------------------------------------- publish


@app.command("publish")
def publish(
    events_file: Path = typer.Argument(
        ..., help="Events: one JSON object, a JSON array, or JSON lines."
    ),
    bootstrap: str | None = BootstrapOption,
    schemas: Path | None = SchemasOption,
    config: Path | None = ConfigOption,
    timeout: float = typer.Option(
        30.0,
        "--timeout",
        min=0.1,
        help="Seconds an event may wait for its confirmation (message.timeout.ms).",
    ),
    integration: str | None = typer.Option(
        None, "--integration", help="Integration name for the martech_integration header."
    ),
    mapping_version: int | None = typer.Option(
        None, "--mapping-version", help="Mapping version for the martech_mapping_version header."
    ),
) -> None:
    """Validate and publish events (exit 1 unless every event was confirmed)."""
    from martech_bus.bus.publisher import BusPublisher
    from martech_bus.eventfile import read_events

    sourced = read_events(events_file)
    millis = max(int(timeout * 1000), 1)
    publisher = BusPublisher.connect(
        bootstrap=bootstrap,
        schemas_dir=schemas,
        bus_config=config,
        producer_config=with_client_properties({"message.timeout.ms": millis}),
        integration=integration,
        mapping_version=mapping_version,
    )
    try:
        report = publisher.publish([item.event for item in sourced])
    finally:
        publisher.close(timeout=0)
    for rejected in report.rejected:
        where = sourced[rejected.index].location
        err_console.print(f"rejected: {_render(where, rejected.event_id)}", markup=False)
        for problem in rejected.problems:
            err_console.print(f"  - {_problem(problem)}", markup=False)
    for failed in report.failed:
        maybe = " (may have been written; consumers dedupe by event_id)" * failed.maybe_delivered
        err_console.print(
            f"not confirmed: event {failed.event_id} -> {failed.topic}: {failed.reason}{maybe}",
            markup=False,
        )
    total = len(sourced)
    console.print(f"{len(report.confirmed)} of {total} events confirmed ({report.summary()})")
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _render(where: Location, event_id: str | None) -> str:
    text = where.render() or "event"
    return f"{text} (event {event_id})" if event_id else text


def _problem(problem: Problem) -> str:
    path = problem.location.path
    return f"{path}: {problem.message}" if path else problem.message


# --------------------------------------------------------------------------- tail


@app.command("tail")
def tail(
    topic: str = typer.Argument(..., help="Topic to read, e.g. martech.order_completed.v1."),
    bootstrap: str | None = BootstrapOption,
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start at the oldest record (default: only new ones)."
    ),
    max_records: int | None = typer.Option(
        None, "--max", min=1, help="Stop after this many records."
    ),
    idle: float | None = typer.Option(
        None, "--idle-timeout", min=0.1, help="Stop after this many seconds without a record."
    ),
    schemas: Path | None = SchemasOption,
    config: Path | None = ConfigOption,
) -> None:
    """Print a topic's records as JSON lines: key, headers, partition/offset, decoded value."""
    from martech_bus.bus.publisher import central_ids
    from martech_bus.bus.topics import load_bus_config, resolve_bootstrap
    from martech_bus.schema.codec import AvroCodec

    registry = central_ids(_registry(schemas), load_bus_config(config))
    codec = AvroCodec(registry)
    consumer = _consumer(resolve_bootstrap(bootstrap))
    try:
        _assign(consumer, topic, from_beginning)
        seen = 0
        last = time.monotonic()
        while max_records is None or seen < max_records:
            record = consumer.poll(0.2)
            if record is None:
                if idle is not None and time.monotonic() - last > idle:
                    break
                continue
            if record.error():
                err_console.print(f"error: {record.error()}", markup=False)
                continue
            last = time.monotonic()
            seen += 1
            sys.stdout.write(json.dumps(_tail_line(record, codec), default=_json_value) + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def _consumer(bootstrap: str) -> Any:
    import logging

    try:
        from confluent_kafka import Consumer
    except ImportError:
        raise ConfigError(
            "tailing a topic needs confluent-kafka: pip install 'martech-bus[kafka]'"
        ) from None
    return Consumer(
        {
            **client_properties(),
            "bootstrap.servers": bootstrap,
            # Partitions are assigned, never subscribed: the group is never joined and
            # nothing is committed; librdkafka just insists on a group id.
            "group.id": "martech-bus-tail",
            "enable.auto.commit": False,
            "logger": logging.getLogger("martech_bus.bus.librdkafka"),
        }
    )


def _assign(consumer: Any, topic: str, from_beginning: bool) -> None:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, TopicPartition

    # All topics: a metadata request naming the topic would create it on tansu.
    metadata = consumer.list_topics(timeout=15)
    found = metadata.topics.get(topic)
    if found is None or found.error is not None:
        known = ", ".join(sorted(name for name in metadata.topics if not name.startswith("__")))
        raise ConfigError(f"topic {topic!r} does not exist (topics: {known or 'none'})")
    start = OFFSET_BEGINNING if from_beginning else OFFSET_END
    consumer.assign([TopicPartition(topic, p, start) for p in sorted(found.partitions)])


def _tail_line(record: Any, codec: Any) -> dict[str, Any]:
    from martech_bus.bus.headers import header_dict
    from martech_bus.errors import CodecError

    key = record.key()
    line: dict[str, Any] = {
        "topic": record.topic(),
        "partition": record.partition(),
        "offset": record.offset(),
        "timestamp": record.timestamp()[1],
        "key": key.decode("utf-8", "replace") if key is not None else None,
        "headers": header_dict(record.headers()),
    }
    value = record.value()
    try:
        entry, datum = codec.decode(value if value is not None else b"")
    except CodecError as exc:
        line["error"] = exc.message
        line["value_base64"] = base64.b64encode(value or b"").decode()
    else:
        line["schema"] = {"subject": entry.subject, "version": entry.version, "id": entry.schema_id}
        line["value"] = datum
    return line


def _json_value(value: Any) -> Any:
    """JSON for what Avro decoding returns beyond JSON's types."""
    if isinstance(value, datetime):
        from martech_bus.bus.headers import rfc3339

        return rfc3339(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return str(value)
