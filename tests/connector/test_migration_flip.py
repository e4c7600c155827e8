"""Flip an integration direct -> dual -> shadow -> bus -> direct while events flow.

Everything is real: the gateway serves HTTP on 127.0.0.1 into a SQLite buffer;
a drainer thread runs the routed pipeline (flags from a YAML file, re-read on
every decision); a connector thread consumes the session broker; the vendor is
an HTTP stub. A load thread keeps posting events through every flip. The
idempotency store (one SQLite file) spans the direct path and the connector.

What must hold: every acknowledged event reaches the vendor exactly once; every
event the drainer processed after the flip to dual (and before the flip back)
is on the bus, read back by kafka-python; nothing processed before it is; and
shadow mode compared what the bus would send with what was sent directly, and
found them equal.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.drainer import Drainer
from martech_bus.gateway.ingest import Gateway
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.gateway.sources import find_sources
from martech_bus.pipeline import EventResult, RetryLater
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.stamp import ROUTES_HEADER
from martech_bus.routing.store_yaml import YamlFlagStore
from martech_bus.shadow.report import shadow_report
from tests.bus.helpers import read_until
from tests.connector.conftest import World
from tests.connector.helpers import Threads, Vendor, wait_until
from tests.gateway.helpers import SOURCES, TOKEN, bearer, live, order

VENDOR = "meta_capi"
PHASES = (RouteMode.DUAL, RouteMode.SHADOW, RouteMode.BUS, RouteMode.DIRECT)
PER_PHASE = 40  # events acknowledged in each phase before the next flip


@dataclass
class Processed:
    """When the drainer processed which events (a call's start and end, monotonic)."""

    calls: list[tuple[float, float, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def between(self, start: float, end: float) -> set[str]:
        with self.lock:
            return {e for s, f, ids in self.calls if s >= start and f <= end for e in ids}

    def only_before(self, moment: float) -> set[str]:
        with self.lock:
            early = {e for s, f, ids in self.calls if f <= moment for e in ids}
            late = {e for s, f, ids in self.calls if f > moment for e in ids}
        return early - late


@dataclass
class Load:
    """Posts batches of 1-3 events until stopped; keeps the ids of every acknowledged one."""

    url: str
    acked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                batch = [order() for _ in range(1 + n % 3)]
                n += 1
                answer = http.post("/v1/events", headers=bearer(), content=json.dumps(batch))
                if answer.status_code == 202:
                    self.acked.extend(event["event_id"] for event in batch)
                else:
                    self.errors.append(answer.text)
                time.sleep(0.005)

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.acked) >= count, 60, f"{count} acknowledged events")


@pytest.fixture
def flags_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARTECH_BUS_FLAGS_TTL", "0")  # every decision reads the file
    path = tmp_path / "flags.yaml"
    path.write_text("flags: {}\n", encoding="utf-8")
    return path


@pytest.fixture
def running(world: World, flags_file: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    assert world.bus is not None
    bus_yaml = tmp_path / "bus.yaml"
    bus_yaml.write_text(
        f'topic_pattern: "{world.bus.prefix}martech.{{event}}.v{{major}}"\n', encoding="utf-8"
    )
    shadow = f"sqlite:{tmp_path / 'shadow.sqlite3'}"
    gateway_runtime = world.runtime(
        flags_setting=f"yaml:{flags_file}",
        kafka_bootstrap=world.bus.bootstrap,
        bus_config=bus_yaml,
        shadow_setting=shadow,
    )
    # Real time here: the drainer, the load and the connector run concurrently.
    gateway_runtime.sleep, gateway_runtime.clock = time.sleep, time.time
    pipeline = gateway_runtime.pipeline(
        [VENDOR], retry_later=RetryLater.DEAD_LETTER, bus_retry_later=RetryLater.REPORT
    )
    processed = Processed()

    def process(events: list[Any]) -> list[EventResult]:
        started = time.monotonic()
        results = pipeline.process(events)
        with processed.lock:
            processed.calls.append((started, time.monotonic(), [e["event_id"] for e in events]))
        return results

    buffer = SqliteBufferStore(tmp_path / "buffer.sqlite3")
    sources = find_sources(SOURCES)
    drainer = Drainer(
        buffer,
        Normalizer(sources, gateway_runtime.registry),
        process,
        MemoryQuarantineStore(),
        idle_interval=0.02,
        batch_size=20,
    )
    connector_runtime = world.runtime(shadow_setting=shadow)
    connector_runtime.sleep, connector_runtime.clock = time.sleep, time.time
    connector = world.connector(connector_runtime, group="flip", sleep=time.sleep, poll_timeout=0.2)
    stop = threading.Event()
    drain_thread = threading.Thread(target=drainer.run, args=(stop,), daemon=True)
    gateway = Gateway(buffer, sources, auth=BearerAuth([TOKEN]))
    with live(gateway) as url, Threads() as threads:
        threads.start(connector)
        drain_thread.start()
        try:
            yield {
                "url": url,
                "buffer": buffer,
                "processed": processed,
                "threads": threads,
                "connector": connector,
                "shadow": connector_runtime.shadow,
            }
        finally:
            stop.set()
            drain_thread.join(30)
            gateway_runtime.close()
            buffer.close()


def test_flipping_through_every_mode_and_back_delivers_each_event_exactly_once(
    world: World, vendor: Vendor, flags_file: Path, running: dict[str, Any]
) -> None:
    assert world.bus is not None
    flags = YamlFlagStore(flags_file, ttl=0)
    processed: Processed = running["processed"]
    load = Load(running["url"])
    loader = threading.Thread(target=load.run, daemon=True)
    loader.start()
    flips: dict[RouteMode, tuple[float, float]] = {}
    try:
        load.wait_for(PER_PHASE)  # direct: the adapter delivers, nothing is published
        for mode in PHASES:
            before = time.monotonic()
            flags.set(VENDOR, Setting(mode), reason=f"test: to {mode}", who="test")
            flips[mode] = (before, time.monotonic())
            load.wait_for(len(load.acked) + PER_PHASE)
            # Modes are decided when the drainer processes an event: let it work in this one.
            started = flips[mode][1]
            wait_until(
                lambda started=started: len(processed.between(started, math.inf)) >= PER_PHASE,
                60,
                f"{PER_PHASE} events processed in {mode} mode",
            )
    finally:
        load.stop.set()
        loader.join(30)
    acked = list(load.acked)
    assert load.errors == []
    buffer: SqliteBufferStore = running["buffer"]
    wait_until(lambda: buffer.depth() == 0, 60, "the buffer to drain")
    wait_until(lambda: vendor.distinct() >= len(acked), 60, "every event at the vendor")
    running["threads"].stop()
    assert running["threads"].errors == []

    counts = vendor.counts()
    assert set(counts) == set(acked)
    assert [event for event, n in counts.items() if n != 1] == []

    on_bus_window = processed.between(flips[RouteMode.DUAL][1], flips[RouteMode.DIRECT][0])
    direct_only = processed.only_before(flips[RouteMode.DUAL][0])
    topic = world.bus.topic("order_completed")
    records = read_until(
        world.bus.bootstrap,
        topic,
        lambda got: on_bus_window <= {dict(r.headers)["ce_id"].decode() for r in got},
    )
    on_bus = {dict(r.headers)["ce_id"].decode() for r in records}
    assert on_bus_window and on_bus_window <= on_bus
    assert direct_only and not (direct_only & on_bus)
    assert all(ROUTES_HEADER in dict(r.headers) for r in records)

    shadowed = processed.between(flips[RouteMode.SHADOW][1], flips[RouteMode.BUS][0])
    report = shadow_report(running["shadow"], VENDOR)
    assert shadowed and report.compared >= len(shadowed)
    assert report.match_rate == 1.0, report.as_dict()
