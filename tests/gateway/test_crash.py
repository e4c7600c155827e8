"""kill -9 the gateway during ingest, several times: every event that got a 202 is in the buffer.

Clients resend a request that got no answer (it may or may not have been
buffered), and now and then one that did (as if the answer were lost), so the
buffer holds some events twice; draining it through the real pipeline then
delivers every acknowledged event exactly once (the idempotency store).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.drainer import Drainer
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.integration import Runtime
from martech_bus.testing.sinks import RecordingSink
from tests.gateway.helpers import ROOT, SCHEMAS, SOURCES, TOKEN, bearer, free_port, order

CLIENTS = 4
KILLS = 3
pytestmark = pytest.mark.integration


def _drain(store: SqliteBufferStore, seed: int) -> list[str]:
    """Everything in the buffer through the real pipeline; the event ids the vendor accepted."""
    sink = RecordingSink()
    runtime = Runtime(
        schemas_dir=SCHEMAS,
        adapters_dir=ROOT / "adapters",
        dlq="memory",
        idempotency_setting="memory",
    )
    pipeline = runtime.pipeline(["amplitude"], sinks=lambda adapter: sink)
    drainer = Drainer(
        store,
        Normalizer({}, runtime.registry),
        pipeline.process,
        MemoryQuarantineStore(),
        batch_size=500,
    )
    while drainer.run_once().claimed:
        pass
    assert store.depth() == 0, f"seed {seed}: records left after draining"
    return sink.accepted_event_ids


def _wait_for_traffic(acked: set[str], lock: threading.Lock) -> None:
    """Until the clients get answers again (the server is up and taking requests)."""
    with lock:
        before = len(acked)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(acked) > before:
                return
        time.sleep(0.01)
    raise AssertionError("no request was acknowledged for 20 s")


class Gateway:
    """``python -m martech_bus.gateway serve`` in a child process on one port."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.tmp_path = tmp_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "MARTECH_BUS_BUFFER": f"sqlite:{tmp_path / 'buffer.sqlite3'}",
            "MARTECH_BUS_DATA_DIR": str(tmp_path / "data"),
            "MARTECH_BUS_SOURCES_DIR": str(SOURCES),
            "MARTECH_BUS_GATEWAY_TOKENS": TOKEN,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self.starts += 1
        self._log = (self.tmp_path / f"gateway-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "martech_bus.gateway", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited: {self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"the gateway did not start: {self.log()}")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(
            self.process.pid, signal.SIGKILL
        )  # no shutdown code runs: a power cut for the process
        self.process.wait(10)
        assert self._log is not None
        self._log.close()

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("gateway-*.log"))
        )


def _send_until(
    stop: threading.Event, url: str, acked: set[str], lock: threading.Lock, seed: int
) -> None:
    """Post batches; a request without an answer is sent again, same events, until it gets one
    (and one answered request in ten too, as if its answer had been lost on the way)."""
    rng = random.Random(seed)
    events = [order() for _ in range(rng.randint(1, 4))]
    with httpx.Client(base_url=url, timeout=3) as http:
        while not stop.is_set():
            try:
                answer = http.post("/v1/events", headers=bearer(), content=json.dumps(events))
            except httpx.HTTPError:  # no answer: it may or may not be buffered, so resend it
                time.sleep(0.05)  # the server is down: do not starve its restart of CPU
                continue
            if answer.status_code == 202:
                with lock:
                    acked.update(answer.json()["event_ids"])
                if rng.random() < 0.1:
                    continue
            events = [order() for _ in range(rng.randint(1, 4))]


def test_every_acknowledged_event_survives_kill_9_during_ingest(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    gateway = Gateway(tmp_path, free_port())
    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    gateway.start()
    clients = [
        threading.Thread(target=_send_until, args=(stop, gateway.url, acked, lock, seed + n))
        for n in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        for _ in range(KILLS):
            _wait_for_traffic(acked, lock)
            time.sleep(rng.uniform(0.2, 0.8))  # then a random moment, mid-traffic
            gateway.kill()
            gateway.start()
        _wait_for_traffic(acked, lock)
    finally:
        stop.set()
        for client in clients:
            client.join(10)
        if gateway.process is not None and gateway.process.poll() is None:
            gateway.kill()

    store = SqliteBufferStore(tmp_path / "buffer.sqlite3")
    try:
        claims = store.claim(1_000_000, 60)
        buffered = {event["event_id"] for c in claims for event in json.loads(c.record.payload)}
        store.release(claims)  # only looked
        delivered = _drain(store, seed)
    finally:
        store.close()
    missing = acked - buffered
    assert not missing, (
        f"seed {seed}: {len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    )
    # a resent request may be buffered twice; the idempotency store delivers each event once
    assert acked <= set(delivered), f"seed {seed}"
    assert len(delivered) == len(set(delivered)), f"seed {seed}: an event was delivered twice"
    assert len(acked) > 100, f"seed {seed}: too little traffic to mean anything ({len(acked)})"
