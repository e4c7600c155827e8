"""Accepted requests: 202 only once the payload is durably buffered, with the ids to track it."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from martech_bus.awsapi import TransientStoreError
from martech_bus.buffer.base import BufferRecord
from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.app import create_app
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.signatures import Timestamped
from martech_bus.gateway.sources import CANONICAL
from martech_bus.testing.clock import FakeTime
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import (
    NEXT_TOKEN,
    SOURCES,
    TOKEN,
    bearer,
    body,
    live,
    order,
    segment_headers,
    shopify_headers,
    write_webshop,
)


def _records(store: Any) -> list[BufferRecord]:
    return [claim.record for claim in store.claim(1000)]


def test_a_canonical_event_is_acknowledged_with_its_event_id(
    client: TestClient, memory_buffer: MemoryBufferStore
) -> None:
    event = order()

    answer = client.post("/v1/events", headers=bearer(), content=body(event))

    assert answer.status_code == 202
    assert answer.json()["event_ids"] == [event["event_id"]]
    assert answer.json()["accepted"] == 1
    assert memory_buffer.depth() == 1


@pytest.mark.parametrize("shape", ["array", "envelope"])
def test_a_batch_is_buffered_as_one_record_holding_the_raw_body(
    client: TestClient, memory_buffer: MemoryBufferStore, shape: str
) -> None:
    events = [order(), order(), order()]
    raw = body(events if shape == "array" else {"events": events})

    answer = client.post("/v1/events", headers=bearer(), content=raw)

    [record] = _records(memory_buffer)
    assert answer.json()["event_ids"] == [event["event_id"] for event in events]
    assert answer.json()["record_id"] == record.id
    assert (record.source, record.payload, record.meta["events"]) == (CANONICAL, raw, "3")


def test_canonical_events_are_not_validated_at_the_door(client: TestClient) -> None:
    # validation is the drainer's: the door only needs an id to answer with
    answer = client.post(
        "/v1/events", headers=bearer(), content=body({"event_id": "not-even-a-uuid"})
    )

    assert answer.status_code == 202


def test_a_vendor_payload_is_buffered_raw_with_the_headers_its_kind_keeps(
    client: TestClient, memory_buffer: MemoryBufferStore
) -> None:
    raw = (SOURCES / "shopify" / "fixtures" / "orders_create.input.json").read_bytes()
    headers = shopify_headers(raw)

    answer = client.post("/v1/sources/shopify", headers=headers, content=raw)

    [record] = _records(memory_buffer)
    assert answer.status_code == 202
    assert answer.json() == {"record_id": record.id, "source": "shopify"}
    assert record.payload == raw
    assert record.meta["header.x-shopify-topic"] == "orders/create"
    assert record.meta["header.x-shopify-webhook-id"] == headers["X-Shopify-Webhook-Id"]
    assert "header.x-shopify-hmac-sha256" not in record.meta  # signatures are not kept


def test_a_segment_payload_signed_in_hex_is_accepted(client: TestClient) -> None:
    raw = (SOURCES / "segment" / "fixtures" / "batch.input.json").read_bytes()

    answer = client.post("/v1/sources/segment", headers=segment_headers(raw), content=raw)

    assert answer.status_code == 202


def test_bearer_tokens_rotate_old_and_new_both_pass(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    client = TestClient(create_app(make_gateway(auth=BearerAuth([TOKEN, NEXT_TOKEN]))))

    old = client.post("/v1/events", headers=bearer(TOKEN), content=body(order()))
    new = client.post("/v1/events", headers=bearer(NEXT_TOKEN), content=body(order()))
    gone = TestClient(create_app(make_gateway(auth=BearerAuth([NEXT_TOKEN])))).post(
        "/v1/events", headers=bearer(TOKEN), content=body(order())
    )

    assert (old.status_code, new.status_code, gone.status_code) == (202, 202, 401)
    assert memory_buffer.depth() == 2


def test_development_mode_takes_local_events_without_a_token(make_gateway: MakeGateway) -> None:
    client = TestClient(create_app(make_gateway(auth=BearerAuth())), client=("127.0.0.1", 50000))

    answer = client.post(
        "/v1/events", headers={"Content-Type": "application/json"}, content=body(order())
    )

    assert answer.status_code == 202


def test_the_202_arrives_only_once_the_record_is_in_the_sqlite_file(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    path = tmp_path / "buffer.sqlite3"
    writer = SqliteBufferStore(path)
    event = order()
    with live(make_gateway(buffer=writer)) as url, httpx.Client(base_url=url) as http:
        answer = http.post("/v1/events", headers=bearer(), content=body(event))
        # another connection, as another process would see the file right now
        reader = SqliteBufferStore(path)
        try:
            [record] = _records(reader)
        finally:
            reader.close()
    writer.close()

    assert answer.status_code == 202
    assert json.loads(record.payload)["event_id"] == event["event_id"]
    assert record.id == answer.json()["record_id"]


class _GatedBuffer(MemoryBufferStore):
    """A buffer whose appends wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def _append(self, records: Sequence[BufferRecord]) -> None:
        self.entered.set()
        assert self.gate.wait(10)
        super()._append(records)


def test_no_answer_is_sent_while_the_append_is_still_running(make_gateway: MakeGateway) -> None:
    buffer = _GatedBuffer()
    answers: list[httpx.Response] = []
    with live(make_gateway(buffer=buffer)) as url, httpx.Client(base_url=url, timeout=10) as http:
        sender = threading.Thread(
            target=lambda: answers.append(
                http.post("/v1/events", headers=bearer(), content=body(order()))
            )
        )
        sender.start()
        assert buffer.entered.wait(5)
        sender.join(0.3)
        waiting = not answers  # the append has not returned: nothing may be acknowledged yet
        buffer.gate.set()
        sender.join(5)

    assert waiting
    assert answers[0].status_code == 202
    assert buffer.depth() == 1


class _BrokenBuffer(MemoryBufferStore):
    def _append(self, records: Sequence[BufferRecord]) -> None:
        raise TransientStoreError("disk I/O error")


def test_a_failed_append_is_503_and_asks_for_a_resend(make_gateway: MakeGateway) -> None:
    buffer = _BrokenBuffer()
    client = TestClient(create_app(make_gateway(buffer=buffer)))

    answer = client.post("/v1/events", headers=bearer(), content=body(order()))

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert buffer.depth() == 0


def test_healthz_reports_the_buffer_depth(client: TestClient) -> None:
    client.post("/v1/events", headers=bearer(), content=body(order()))

    answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json()["buffer_depth"] == 1


def test_metrics_count_requests_by_route_and_status_in_prometheus_text(client: TestClient) -> None:
    client.post("/v1/events", headers=bearer(), content=body(order()))
    client.post("/v1/events", content=body(order()))
    client.post("/v1/sources/nowhere", content=b"{}")

    text = client.get("/metrics").text

    assert (
        'martech_bus_gateway_requests_total{integration="gateway",route="canonical",status="202"} 1'
        in text
    )
    assert (
        'martech_bus_gateway_requests_total{integration="gateway",route="canonical",status="401"} 1'
        in text
    )
    assert 'route="unknown",status="404"' in text
    assert "nowhere" not in text  # request paths never become label values
    assert 'martech_bus_buffer_depth{integration="gateway"} 1' in text


def _webshop_client(
    make_gateway: MakeGateway, sources: dict[str, Any], tmp_path: Path
) -> TestClient:
    from martech_bus.gateway.sources import load_source

    webshop = load_source(write_webshop(tmp_path))
    return TestClient(create_app(make_gateway(sources={**sources, "webshop": webshop})))


def test_a_timestamped_signature_within_tolerance_is_accepted(
    make_gateway: MakeGateway, sources: dict[str, Any], tmp_path: Path, fake: FakeTime
) -> None:
    client = _webshop_client(make_gateway, sources, tmp_path)
    raw = b'{"type": "page.view", "id": 1}'
    header = Timestamped().sign(raw, [b"webshop-secret"], int(fake.clock()))
    fake.advance(299)

    answer = client.post(
        "/v1/sources/webshop",
        headers={"Content-Type": "application/json", "X-Martech-Signature": header},
        content=raw,
    )

    assert answer.status_code == 202


def test_a_stale_timestamped_signature_is_401_and_buffers_nothing(
    make_gateway: MakeGateway,
    sources: dict[str, Any],
    tmp_path: Path,
    fake: FakeTime,
    memory_buffer: MemoryBufferStore,
) -> None:
    client = _webshop_client(make_gateway, sources, tmp_path)
    raw = b'{"type": "page.view", "id": 1}'
    header = Timestamped().sign(raw, [b"webshop-secret"], int(fake.clock()))
    fake.advance(301)  # a captured request replayed five minutes later

    answer = client.post(
        "/v1/sources/webshop",
        headers={"Content-Type": "application/json", "X-Martech-Signature": header},
        content=raw,
    )

    assert answer.status_code == 401
    assert "tolerance" in answer.json()["message"]
    assert memory_buffer.depth() == 0
