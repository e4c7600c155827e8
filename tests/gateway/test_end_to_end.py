"""HTTP in, pipeline out: the real server, the SQLite buffer, the drainer and the one pipeline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.drainer import Drainer
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.integration import Runtime
from martech_bus.testing.sinks import RecordingSink
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import ROOT, SCHEMAS, SOURCES, bearer, live, order, segment_headers

TRACK = (SOURCES / "segment" / "fixtures" / "track_order_completed.input.json").read_bytes()
EXPECTED_ID = json.loads(
    (SOURCES / "segment" / "fixtures" / "track_order_completed.expected.json").read_text()
)[0]["event_id"]


def _drain_all(drainer: Drainer) -> None:
    for _ in range(20):
        if drainer.run_once().claimed == 0:
            return
    raise AssertionError("the buffer did not drain")


def test_webhooks_and_events_reach_the_vendor_once_through_the_pipeline(
    make_gateway: MakeGateway, normalizer: Normalizer, tmp_path: Path
) -> None:
    buffer = SqliteBufferStore(tmp_path / "buffer.sqlite3")
    sink = RecordingSink()
    runtime = Runtime(
        schemas_dir=SCHEMAS,
        adapters_dir=ROOT / "adapters",
        dlq="memory",
        idempotency_setting="memory",
    )
    pipeline = runtime.pipeline(["amplitude"], sinks=lambda adapter: sink)
    drainer = Drainer(buffer, normalizer, pipeline.process, MemoryQuarantineStore())
    event = order()
    with live(make_gateway(buffer=buffer)) as url, httpx.Client(base_url=url) as http:
        webhook = http.post("/v1/sources/segment", headers=segment_headers(TRACK), content=TRACK)
        canonical = http.post("/v1/events", headers=bearer(), content=json.dumps(event))
        _drain_all(drainer)
        # Segment retries the same webhook (it never saw our 202): same message, same event id
        retried = http.post("/v1/sources/segment", headers=segment_headers(TRACK), content=TRACK)
        _drain_all(drainer)
    buffer.close()

    assert (webhook.status_code, canonical.status_code, retried.status_code) == (202, 202, 202)
    assert sorted(sink.accepted_event_ids) == sorted([EXPECTED_ID, event["event_id"]])


def test_an_invalid_canonical_event_becomes_a_dead_letter_and_its_record_is_acked(
    make_gateway: MakeGateway, normalizer: Normalizer, tmp_path: Path
) -> None:
    buffer = SqliteBufferStore(tmp_path / "buffer.sqlite3")
    runtime = Runtime(
        schemas_dir=SCHEMAS,
        adapters_dir=ROOT / "adapters",
        dlq="memory",
        idempotency_setting="memory",
    )
    pipeline = runtime.pipeline(["amplitude"], sinks=lambda adapter: RecordingSink())
    drainer = Drainer(buffer, normalizer, pipeline.process, MemoryQuarantineStore())
    broken: dict[str, Any] = {**order(), "occurred_at": "last tuesday"}
    with live(make_gateway(buffer=buffer)) as url, httpx.Client(base_url=url) as http:
        answer = http.post("/v1/events", headers=bearer(), content=json.dumps(broken))
        _drain_all(drainer)

    [letter] = runtime.dead_letters.list()
    assert answer.status_code == 202
    assert letter.event_id == broken["event_id"]
    assert buffer.depth() == 0
    buffer.close()
