"""What a Lambda invocation leaves in CloudWatch: JSON logs without PII or secrets, and EMF metrics."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.aws import adapter_handler
from martech_bus.integration import Runtime
from martech_bus.observability.logs import configure_logging
from martech_bus.testing.clock import FakeTime
from martech_bus.testing.vendor import stub_adapters
from tests.integration.test_sprint_storm import api_gateway_v2, order

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "EAAB-super-secret-token-value"
SECRETS_AND_PII = [
    TOKEN,
    "Jane.Doe@Example.com",
    "jane.doe@example.com",
    "+49 170 1234567",
    "203.0.113.7",
    "u-1842",
]


@pytest.fixture
def captured(
    tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> io.StringIO:
    adapters = stub_adapters(
        ROOT / "adapters",
        tmp_path / "adapters",
        httpserver.url_for("/").rstrip("/"),
        names=["meta_capi"],
    )
    for name, value in {
        "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
        "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
        "MARTECH_BUS_DLQ": f"sqlite:{tmp_path / 'dlq.sqlite3'}",
        "MARTECH_BUS_IDEMPOTENCY": f"sqlite:{tmp_path / 'idempotency.sqlite3'}",
        "META_PIXEL_ID": "42",
        "META_ACCESS_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    stream = io.StringIO()
    handler = configure_logging(stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def invoke(httpserver: HTTPServer, status: int, events: list[dict[str, Any]]) -> None:
    body = (
        {"error": {"message": f"token {TOKEN} rejected for jane.doe@example.com"}}
        if status >= 400
        else {"events_received": 1}
    )
    httpserver.expect_request("/v19.0/42/events").respond_with_json(body, status=status)
    clock = FakeTime()
    handler = adapter_handler("meta_capi", runtime=Runtime(sleep=clock.sleep, clock=clock.clock))
    handler(api_gateway_v2(events), None)


def test_logs_of_delivered_failed_and_invalid_events_hold_no_pii_or_secret(
    captured: io.StringIO, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    invalid = order(3)
    invalid["properties"]["total"] = "not money"
    invoke(httpserver, 400, [order(1), invalid])
    httpserver.clear()
    invoke(httpserver, 200, [order(2)])
    output = captured.getvalue() + capsys.readouterr().out
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert {line.get("outcome") for line in lines} >= {"dead_lettered", "invalid", "delivered"}
    for value in SECRETS_AND_PII:
        assert value not in output


def test_every_invocation_publishes_emf_metrics(
    captured: io.StringIO, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    invoke(httpserver, 200, [order(1), order(2)])
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    assert documents
    delivered = [d for d in documents if d.get("outcome") == "delivered"]
    assert delivered and delivered[0]["integration"] == "meta_capi"
    assert delivered[0]["events"] == 2
