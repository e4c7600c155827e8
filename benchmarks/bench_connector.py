"""Marathon-path throughput: the bus connector from a 3-partition topic to a local vendor stub.

Each contender gets its own embedded broker (tansu) with the meta_capi adapter's
topics (3 partitions each) and 20,000 pre-encoded order_completed events (Avro,
Confluent wire format, keyed by user). The stub is a stdlib HTTP server on
127.0.0.1 answering 200. Connector processes (``python -m martech_bus.connector
run``) join the group before the events are produced; their rate is events over
the time from their first fetch to their last finished event (decode into the
mapping's version, validate, consent, map, claim idempotency keys in SQLite,
POST batches of 500, settle, commit). The baseline is a raw confluent-kafka
group consumer counting the same topic's records in the same run. Group joins
(about 3 s on tansu) are outside every measurement.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.harness import AcceptingVendor, Rate, table

ROOT = Path(__file__).resolve().parent.parent
EVENTS = 20_000
PARTITIONS = 3
CONSUMER = ["-X", "session.timeout.ms=6000"]  # tansu joins a group in about half of it
QUIET = logging.getLogger("benchmarks.connector.librdkafka")


def _frames(count: int) -> tuple[str, list[tuple[bytes, bytes]]]:
    """The order topic and ``count`` (key, Confluent frame) pairs with distinct event ids."""
    import copy

    from martech_bus.connector.decoding import topic_for
    from martech_bus.schema.codec import AvroCodec
    from martech_bus.schema.registry import SchemaRegistry
    from martech_bus.schema.validate import validate_event

    registry = SchemaRegistry.load(ROOT / "schemas")
    codec = AvroCodec(registry)
    template = json.loads((ROOT / "examples" / "events" / "order_completed.json").read_text())
    frames = []
    for n in range(count):
        event = copy.deepcopy(template)
        event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
        event["user_id"] = f"user-{n}"
        entry, datum = validate_event(registry, event)
        frames.append(
            (event["user_id"].encode(), codec.encode(datum, entry.subject, entry.version))
        )
    return topic_for(registry.get("order_completed")), frames


def _topics() -> list[str]:
    from martech_bus.adapter.loader import resolve_adapter
    from martech_bus.connector.decoding import topics_for
    from martech_bus.schema.registry import SchemaRegistry

    registry = SchemaRegistry.load(ROOT / "schemas")
    return topics_for(resolve_adapter("meta_capi", ROOT / "adapters"), registry)


def _produce(bootstrap: str, topic: str, frames: list[tuple[bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "logger": QUIET})
    for key, value in frames:
        while True:
            try:
                producer.produce(topic, value, key=key)
                break
            except BufferError:  # queue full: serve delivery reports, then go on
                producer.poll(0.1)
    assert producer.flush(60) == 0


def _raw_consumer(bootstrap: str, topic: str, expected: int) -> float:
    """Records per second of a bare group consumer, from its first record to the last."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-raw",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "logger": QUIET,
        }
    )
    consumer.subscribe([topic])
    count, started = 0, None
    deadline = time.monotonic() + 120
    try:
        while count < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw consumer read {count} of {expected}")
            for message in consumer.consume(1000, 1.0):
                if message.error() is None:
                    started = started or time.perf_counter()
                    count += 1
        assert started is not None
        return count / (time.perf_counter() - started)
    finally:
        consumer.close()


def _stats(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _connectors(
    processes: int, base_url: str, work: Path, frames: list[tuple[bytes, bytes]], topic: str
) -> tuple[float, float, list[int]]:
    """Connector events/s, raw consumer records/s, and what each process delivered (fresh broker)."""
    from martech_bus.testing.kafka import EmbeddedBroker, create_topics
    from martech_bus.testing.vendor import stub_adapters

    work.mkdir()
    adapters = stub_adapters(ROOT / "adapters", work / "adapters", base_url, names=["meta_capi"])
    env = {
        **os.environ,
        "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
        "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
        "MARTECH_BUS_DLQ": f"sqlite:{work / 'dlq.sqlite3'}",
        "MARTECH_BUS_IDEMPOTENCY": f"sqlite:{work / 'idempotency.sqlite3'}",
        "META_PIXEL_ID": "42",
        "META_ACCESS_TOKEN": "bench-token",
    }
    with EmbeddedBroker() as broker:
        create_topics(broker.bootstrap, _topics(), partitions=PARTITIONS)
        files = [work / f"stats-{n}.json" for n in range(processes)]
        logs = [(work / f"connector-{n}.log").open("wb") for n in range(processes)]
        command = [sys.executable, "-m", "martech_bus.connector", "run", "--adapter", "meta_capi"]
        running = [
            subprocess.Popen(
                [
                    *command,
                    "--bootstrap",
                    broker.bootstrap,
                    "--stats-file",
                    str(path),
                    "--log-level",
                    "WARNING",
                    *CONSUMER,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            for path, log in zip(files, logs, strict=True)
        ]
        try:
            _wait(lambda: _shared([_stats(p) for p in files], processes), 60, "the group to form")
            _produce(broker.bootstrap, topic, frames)
            _wait(
                lambda: sum(_stats(p).get("finished", 0) for p in files) >= len(frames),
                300,
                "every event delivered",
            )
        finally:
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                process.wait(60)
            for log in logs:
                log.close()
        final = [_stats(path) for path in files]
        delivered = sum(stats["delivered"] for stats in final)
        assert delivered == len(frames), final
        started = min(s["first_fetch_at"] for s in final if s["first_fetch_at"])
        finished = max(s["last_finish_at"] for s in final if s["last_finish_at"])
        rate = len(frames) / (finished - started)
        raw = _raw_consumer(broker.bootstrap, topic, len(frames))
    return rate, raw, sorted((stats["delivered"] for stats in final), reverse=True)


def _shared(stats: list[dict[str, Any]], processes: int) -> bool:
    """Every process holds partitions, none twice, all of them covered."""
    held = [set(s.get("assigned", ())) for s in stats]
    if not all(held):
        return False
    union: set[str] = set().union(*held)
    return sum(map(len, held)) == len(union) and len(union) == len(_topics()) * PARTITIONS


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"benchmark: no {what} within {timeout:g}s")
        time.sleep(0.1)


def run() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), AcceptingVendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    topic, frames = _frames(EVENTS)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            one, raw_one, _ = _connectors(1, base, Path(tmp) / "one", frames, topic)
            two, raw_two, shares = _connectors(2, base, Path(tmp) / "two", frames, topic)
    finally:
        server.shutdown()
    raw = Rate("raw confluent-kafka group consumer (count only)", max(raw_one, raw_two))
    rates = [
        raw,
        Rate("connector, 1 process (decode, validate, map, dedupe, POST, commit)", one),
        Rate("connector, 2 processes in one group", two),
    ]
    # The connector is thousands of times slower than a bare read: show the ratio's digits.
    rows: list[tuple[str, ...]] = [
        (r.name, f"{r.per_second:,.0f}", f"{r.ratio_to(raw):.4f}x") for r in rates
    ]
    return (
        table(rows)
        + f"\n\nEvents per second; {EVENTS:,} events on {PARTITIONS} partitions, batches of 500, "
        f"{os.cpu_count()} CPU(s). 2 processes vs 1: {two / one:.2f}x; the two delivered "
        f"{' and '.join(f'{n:,}' for n in shares)} events (3 partitions split 2:1).\n"
    )


if __name__ == "__main__":
    print(run())
