"""Events full of PII and secrets go through every path; no log record shows any of them.

Every record of every logger is captured at DEBUG (httpx's and httpcore's, the
vendor stub's werkzeug, librdkafka's through the connector's and the producer's
loggers with librdkafka debug contexts on) after the handlers ran, and checked
as formatted: message, arguments, ``extra=`` fields, exception and stack text,
and the JSON line the configured handler wrote. Each record must also carry the
redacting filter's mark: nothing reaches a handler around the choke point.

The paths: the Lambda adapter handler (a vendor 400, a 503 until the retries run
out, a 200 with an error object echoing the PII and the token, an invalid
event), the gateway (ingest, a wrong bearer token, a bad Shopify signature, a
Segment message that is quarantined, the drainer into the pipeline, /metrics),
the bus publisher and the connector (a dead letter and an undecodable record),
dead-letter replay and the ``dlq`` commands.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from starlette.testclient import TestClient
from werkzeug import Request, Response

from martech_bus.aws import adapter_handler
from martech_bus.bus.publisher import BusPublisher
from martech_bus.bus.topics import BusConfig
from martech_bus.cli.main import main
from martech_bus.gateway.app import create_app
from martech_bus.gateway.drainer import Drainer
from martech_bus.gateway.metrics import gateway_metrics, watch_stores
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.observability.logs import STANDARD_ATTRIBUTES, configure_logging
from martech_bus.pipeline import RetryLater
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.testing.clock import FakeTime
from tests.connector.conftest import World
from tests.connector.helpers import PIXEL, Bus
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import (
    SEGMENT_SECRET,
    SHOPIFY_SECRET,
    TOKEN,
    segment_headers,
    shopify_headers,
)
from tests.integration.test_sprint_storm import api_gateway_v2

ROOT = Path(__file__).resolve().parents[2]
REDACTED_MARK = "_martech_bus_redacted"

EMAIL = "Zelda.Quartermaine@Example.org"
PHONE = "+49 170 5550199"
FIRST_NAME = "Zelda"
LAST_NAME = "Quartermaine"
IP = "198.51.100.23"
USER_ID = "u-zq-77123"
ANONYMOUS_ID = "anon-zq-4410"
VENDOR_TOKEN = "EAAB-zq-secret-token-5f4e3d2c1b"
WRONG_BEARER = "zq-wrong-bearer-token-0a9b8c7d"
#: What the fixtures say, and what our events say instead.
REPLACE = {
    "jane.doe@example.com": EMAIL,
    "Jane.Doe@Example.com": EMAIL,
    "Max.Mustermann@Example.com": EMAIL,
    "+49 170 1234567": PHONE,
    "+49 (30) 901820": PHONE,
    '"Jane"': f'"{FIRST_NAME}"',
    '" Max "': f'"{FIRST_NAME}"',
    '"Doe"': f'"{LAST_NAME}"',
    '"Mustermann"': f'"{LAST_NAME}"',
    "203.0.113.7": IP,
    "u-1842": USER_ID,
    "a-77d1f0": ANONYMOUS_ID,
}
PII = [
    EMAIL,
    EMAIL.replace("@", "%40"),
    PHONE,
    PHONE.replace(" ", ""),
    FIRST_NAME,
    LAST_NAME,
    IP,
    USER_ID,
    ANONYMOUS_ID,
    hashlib.sha256(EMAIL.lower().encode()).hexdigest(),  # what Meta receives instead
]
SECRETS = [VENDOR_TOKEN, TOKEN, WRONG_BEARER, SHOPIFY_SECRET, SEGMENT_SECRET]
SENSITIVE = PII + SECRETS


def with_pii(path: Path, event_id: str | None = None) -> dict[str, Any]:
    """A fixture file with our PII in place of its own."""
    text = path.read_text(encoding="utf-8")
    for old, new in REPLACE.items():
        text = text.replace(old, new)
    found: dict[str, Any] = json.loads(text)
    if event_id is not None:
        found["event_id"] = event_id
    return found


def order(n: int) -> dict[str, Any]:
    return with_pii(
        ROOT / "examples" / "events" / "order_completed.json", f"00000000-0000-4000-8000-{n:012d}"
    )


def lead(n: int) -> dict[str, Any]:
    path = ROOT / "adapters" / "meta_capi" / "fixtures" / "lead_captured.input.json"
    return with_pii(path, f"00000000-0000-4000-9000-{n:012d}")


def invalid(n: int) -> dict[str, Any]:
    event = order(n)
    event["properties"]["total"] = f"{EMAIL} {PHONE}"  # a value the schema refuses, full of PII
    return event


# -- capturing every record -----------------------------------------------------------------


@dataclass
class Captured:
    stream: io.StringIO
    records: list[logging.LogRecord] = field(default_factory=list)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(where, text) for every formatted part of every record, and every JSON line."""
        formatter = logging.Formatter()
        for record in self.records:
            where = f"{record.name}:{record.levelname}"
            yield where, record.getMessage()
            yield where, repr(record.args)
            for key, value in vars(record).items():
                if key not in STANDARD_ATTRIBUTES:
                    yield f"{where} extra {key}", repr(value)
            if record.exc_info and not record.exc_text:
                yield where, formatter.formatException(record.exc_info)
            yield where, record.exc_text or ""
            yield where, record.stack_info or ""
        for line in self.stream.getvalue().splitlines():
            yield "json line", line

    def loggers(self) -> set[str]:
        return {record.name for record in self.records}

    def assert_clean(self, *more: tuple[str, str]) -> None:
        leaks = sorted(
            {
                (where, value)
                for where, text in [*self.texts(), *more]
                for value in SENSITIVE
                if value.casefold() in text.casefold()
            }
        )
        assert not leaks, "\n".join(f"{value!r} in {where}" for where, value in leaks)
        bypassed = sorted({r.name for r in self.records if not getattr(r, REDACTED_MARK, False)})
        assert not bypassed, f"records that skipped the redacting filter: {bypassed}"


@pytest.fixture
def captured(
    registry: SchemaRegistry, monkeypatch: pytest.MonkeyPatch, clean_logging: None
) -> Iterator[Captured]:
    stream = io.StringIO()
    capture = Captured(stream)
    configure_logging("DEBUG", stream=stream, registry=registry, replace=False)
    for name in ("httpx", "httpcore", "werkzeug"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        original(self, record)  # the handlers (and the redacting filter) first: what they left
        capture.records.append(record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    yield capture


# -- the vendor: answers as told, echoing the PII and the token it received -----------------


class EchoingVendor:
    """Meta's events endpoint, answering ``status``; its error bodies repeat what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.error_in_200 = False
        self.requests = 0

    def __call__(self, request: Request) -> Response:
        self.requests += 1
        echo = (
            f"Invalid parameter for {EMAIL} ({FIRST_NAME} {LAST_NAME}, {PHONE}) from {IP}, "
            f"user {USER_ID}; access_token {request.args.get('access_token')} rejected"
        )
        if self.status != 200 or self.error_in_200:
            body = {"error": {"message": echo, "type": "OAuthException", "fbtrace_id": "A1"}}
            return Response(json.dumps(body), self.status, content_type="application/json")
        data = json.loads(request.data)["data"]
        return Response(
            json.dumps({"events_received": len(data)}), 200, content_type="application/json"
        )


@pytest.fixture
def vendor(
    offline: World, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> EchoingVendor:
    monkeypatch.setenv("META_ACCESS_TOKEN", VENDOR_TOKEN)
    stub = EchoingVendor()
    httpserver.expect_request(f"/v19.0/{PIXEL}/events", method="POST").respond_with_handler(stub)
    return stub


# -- the paths ------------------------------------------------------------------------------


def test_the_lambda_adapter_handler_logs_no_pii_or_secret(
    captured: Captured, offline: World, vendor: EchoingVendor, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeTime()
    handler = adapter_handler("meta_capi", runtime=offline.runtime(clock))
    vendor.status = 400
    handler(api_gateway_v2([order(1), lead(2), invalid(3)]), None)
    vendor.status = 503  # retried until the attempts run out
    handler(api_gateway_v2([order(4)]), None)
    clock.advance(60)  # the vendor's circuit breaker lets a trial call through again
    vendor.status = 200
    handler(api_gateway_v2([order(5)]), None)

    assert vendor.requests >= 3
    outcomes = {json.loads(line).get("outcome") for line in captured.stream.getvalue().splitlines()}
    assert {"dead_lettered", "invalid", "delivered"} <= outcomes
    assert {"httpx", "werkzeug"} <= captured.loggers()
    captured.assert_clean(("stdout (EMF)", capsys.readouterr().out))


def test_a_vendor_error_in_a_200_body_echoing_the_pii_logs_none_of_it(
    captured: Captured, offline: World, vendor: EchoingVendor
) -> None:
    handler = adapter_handler("meta_capi", runtime=offline.runtime())
    vendor.error_in_200 = True
    handler(api_gateway_v2([order(7)]), None)

    assert vendor.requests == 1
    captured.assert_clean()


def test_the_gateway_logs_no_pii_or_secret(
    captured: Captured,
    offline: World,
    vendor: EchoingVendor,
    make_gateway: MakeGateway,
    memory_buffer: Any,
    sources: Any,
    registry: SchemaRegistry,
    fake: FakeTime,
) -> None:
    runtime = offline.runtime()
    quarantine = MemoryQuarantineStore()
    metrics = gateway_metrics()
    watch_stores(
        metrics,
        dead_letters=runtime.dead_letters,
        integrations=["meta_capi"],
        quarantine=quarantine,
        sources=sources,
    )
    client = TestClient(
        create_app(make_gateway(metrics=metrics, extra_metrics=[runtime.metrics])),
        client=("127.0.0.1", 50000),
    )
    events = [order(11), lead(12), invalid(13)]
    assert (
        client.post(
            "/v1/events", json=events, headers={"Authorization": f"Bearer {TOKEN}"}
        ).status_code
        == 202
    )
    refused = client.post(
        "/v1/events", json=events, headers={"Authorization": f"Bearer {WRONG_BEARER}"}
    )
    assert refused.status_code == 401
    shopify = json.dumps(
        with_pii(ROOT / "sources" / "shopify" / "fixtures" / "orders_create.input.json")
    ).encode()
    forged = shopify_headers(shopify, secret="not-" + SHOPIFY_SECRET)
    assert client.post("/v1/sources/shopify", content=shopify, headers=forged).status_code == 401
    identify = with_pii(ROOT / "sources" / "segment" / "fixtures" / "identify.input.json")
    alias = {**identify, "type": "alias", "previousId": ANONYMOUS_ID, "messageId": "ajs-alias-1"}
    for message in (identify, alias):  # alias has no route: quarantined
        raw = json.dumps(message).encode()
        assert (
            client.post(
                "/v1/sources/segment", content=raw, headers=segment_headers(raw)
            ).status_code
            == 202
        )
    vendor.status = 400
    pipeline = runtime.pipeline(["meta_capi"], retry_later=RetryLater.DEAD_LETTER)
    drainer = Drainer(
        memory_buffer,
        Normalizer(sources, registry),
        pipeline.process,
        quarantine,
        clock=fake.clock,
        metrics=metrics,
    )
    report = drainer.run_once()
    assert client.get("/metrics").status_code == 200

    assert report.claimed == 3
    assert quarantine.count(source="segment") == 1
    assert runtime.dead_letters.count(vendor="meta_capi") >= 1
    assert {"martech_bus.gateway", "httpx"} <= captured.loggers()
    captured.assert_clean()


@pytest.mark.integration
def test_the_bus_publisher_and_the_connector_log_no_pii_or_secret(
    captured: Captured, world: World, bus: Bus, vendor: EchoingVendor
) -> None:
    config = BusConfig(topic_pattern=bus.prefix + "martech.{event}.v{major}")
    with BusPublisher.connect(
        bootstrap=bus.bootstrap,
        schemas_dir=ROOT / "schemas",
        bus_config=config,
        producer_config={"debug": "msg,topic"},
    ) as publisher:
        report = publisher.publish([order(21), lead(22)])
    assert report.ok, report.summary()
    garbage = b"\x00\x00\x01\xe2\x40" + json.dumps(order(23)).encode()  # unknown schema id
    bus.produce([(bus.topic("order_completed"), USER_ID.encode(), garbage)])
    vendor.status = 400
    runtime = world.runtime()
    connector = world.connector(runtime, consumer_config={"debug": "consumer,cgrp,fetch"})

    stats = connector.run(max_messages=3)

    assert (stats.dead_lettered, stats.undecodable) == (2, 1)
    assert {
        "martech_bus.connector",
        "martech_bus.connector.client",  # the consumer's librdkafka
        "martech_bus.sinks.kafka.librdkafka",  # the producer's
    } <= captured.loggers()
    captured.assert_clean()


def test_dead_letter_replay_and_the_dlq_commands_log_no_pii_or_secret(
    captured: Captured, offline: World, vendor: EchoingVendor, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = adapter_handler("meta_capi", runtime=offline.runtime())
    vendor.status = 400
    handler(api_gateway_v2([order(31), lead(32)]), None)
    capsys.readouterr()
    runtime = offline.runtime()
    [first, *_] = runtime.dead_letters.list()

    assert main(["dlq", "list"]) == 0
    listed = capsys.readouterr().out
    assert main(["dlq", "show", first.id]) == 0
    shown = capsys.readouterr().out
    vendor.status = 200
    assert main(["dlq", "replay", "--vendor", "meta_capi"]) == 0
    replayed = capsys.readouterr().out

    assert "replayed 2" in replayed
    captured.assert_clean(("dlq list", listed), ("dlq replay", replayed))
    # `dlq show` prints the stored event for a person to fix and replay (not a log): the
    # event keeps its personal data by design; secrets never reach the store.
    assert EMAIL in shown
    assert not [secret for secret in SECRETS if secret in shown]


def test_the_sensitive_values_are_the_ones_the_events_carry() -> None:
    text = json.dumps([order(1), lead(2)])
    assert all(
        value in text for value in (EMAIL, PHONE, FIRST_NAME, LAST_NAME, IP, USER_ID, ANONYMOUS_ID)
    )


def test_the_capture_sees_a_record_that_goes_around_the_redacting_filter(
    captured: Captured,
) -> None:
    around = logging.getLogger("tests.around")
    around.propagate = False  # its own handler: the root's redacting one never sees it
    around.addHandler(logging.NullHandler())
    try:
        around.warning("sent to %s", EMAIL)
    finally:
        around.handlers.clear()
        around.propagate = True
    with pytest.raises(AssertionError, match=re.escape(EMAIL)):
        captured.assert_clean()


def test_the_capture_sees_free_text_no_pattern_recognises(captured: Captured) -> None:
    logging.getLogger("martech_bus.tests").warning("vendor said: unknown customer %s", LAST_NAME)
    with pytest.raises(AssertionError, match="Quartermaine"):
        captured.assert_clean()
