"""A sprint adapter against a vendor in a 429/5xx storm loses nothing; DLQ replay delivers the rest.

Real parts: the shipped meta_capi adapter (only its host points at the stub),
the Lambda handler, SQLite stores, and a real HTTP vendor stub on 127.0.0.1.
Time is a fake clock that advances when the code sleeps: nothing really waits.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from martech_bus.aws import adapter_handler
from martech_bus.cli.main import main as cli
from martech_bus.integration import Runtime
from martech_bus.testing.clock import FakeTime
from tests.connector.helpers import PIXEL, meta_capi_on_stub

ROOT = Path(__file__).resolve().parents[2]


class StormyVendor:
    """Meta's events endpoint: fails ``failure_rate`` of requests (429 with Retry-After, 500, 503)."""

    def __init__(self, clock: FakeTime, *, failure_rate: float, seed: int = 7) -> None:
        self.clock = clock
        self.failure_rate = failure_rate
        self.random = random.Random(seed)
        self.accepted: list[str] = []
        self.answers: Counter[int] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            if self.random.random() < self.failure_rate:
                return self.failure()
            body = json.loads(request.data)
            self.accepted.extend(item["event_id"] for item in body["data"])
            self.answers[200] += 1
            return Response(
                json.dumps({"events_received": len(body["data"])}),
                200,
                content_type="application/json",
            )

    def failure(self) -> Response:
        status = self.random.choice([429, 429, 500, 503])
        self.answers[status] += 1
        headers = {}
        if status == 429:  # both Retry-After forms
            when = datetime.fromtimestamp(self.clock() + 2, UTC)
            headers["Retry-After"] = self.random.choice(["1", format_datetime(when, usegmt=True)])
        return Response(json.dumps({"error": {"message": "slow down"}}), status, headers=headers)


def order(n: int) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (ROOT / "examples" / "events" / "order_completed.json").read_text()
    )
    event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
    event["user_id"] = f"user-{n}"
    event["properties"]["order_id"] = f"ORD-{n}"
    return event


def api_gateway_v2(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /events",
        "rawPath": "/events",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/events"}, "requestId": "r-1"},
        "body": base64.b64encode(json.dumps(events).encode()).decode(),
        "isBase64Encoded": True,
    }


def sqs(events: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": json.dumps(event),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
                "awsRegion": "us-east-1",
            }
            for message_id, event in zip(ids, events, strict=True)
        ]
    }


@pytest.fixture
def world(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    _, settings = meta_capi_on_stub(tmp_path, httpserver.url_for("/").rstrip("/"))
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    clock = FakeTime(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp())
    runtime = Runtime(sleep=clock.sleep, clock=clock.clock)
    return {"runtime": runtime, "clock": clock}


def test_a_storm_loses_nothing_and_replay_delivers_every_event_exactly_once(
    world: dict[str, Any], httpserver: HTTPServer
) -> None:
    clock, runtime = world["clock"], world["runtime"]
    vendor = StormyVendor(clock, failure_rate=0.7)
    httpserver.expect_request(f"/v19.0/{PIXEL}/events", method="POST").respond_with_handler(vendor)
    handler = adapter_handler("meta_capi", runtime=runtime)
    events = [order(n) for n in range(60)]
    all_ids = {e["event_id"] for e in events}

    for start in range(0, len(events), 5):  # twelve API requests of five events
        response = handler(api_gateway_v2(events[start : start + 5]), None)
        assert response is not None and response["statusCode"] == 202

    dead = {record.event_id for record in runtime.dead_letters.list()}
    assert vendor.answers[429] and vendor.answers[500] + vendor.answers[503]  # it was a storm
    assert dead, "the storm should have exhausted some retries"
    assert set(vendor.accepted) | dead == all_ids  # nothing lost
    assert not set(vendor.accepted) & dead  # nothing both delivered and dead-lettered
    assert all(seconds >= 0 for seconds in clock.sleeps)

    vendor.failure_rate = 0.0  # the storm is over
    assert cli(["dlq", "replay"]) == 0

    assert Counter(vendor.accepted) == Counter(all_ids)  # every event exactly once
    assert runtime.dead_letters.count() == 0


def test_an_sqs_batch_in_a_storm_is_redriven_until_every_event_is_delivered_once(
    world: dict[str, Any], httpserver: HTTPServer
) -> None:
    vendor = StormyVendor(world["clock"], failure_rate=0.6, seed=11)
    httpserver.expect_request(f"/v19.0/{PIXEL}/events", method="POST").respond_with_handler(vendor)
    handler = adapter_handler("meta_capi", runtime=world["runtime"])
    pending = {f"m-{n}": order(n) for n in range(40)}

    for _ in range(50):  # SQS redelivers what the handler reports as failed
        if not pending:
            break
        ids = list(pending)
        response = handler(sqs([pending[i] for i in ids], ids), None)
        assert response is not None
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        pending = {i: pending[i] for i in ids if i in failed}
        world["clock"].advance(60)  # the queue's visibility timeout passes

    assert pending == {}
    assert Counter(vendor.accepted) == Counter(order(n)["event_id"] for n in range(40))
    assert world["runtime"].dead_letters.count() == 0
