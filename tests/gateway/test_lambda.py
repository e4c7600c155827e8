"""The same gateway as a Lambda behind API Gateway (REST v1 and HTTP API v2)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from martech_bus.aws.sources import EventShapeError
from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.lambda_handler import gateway_handler
from martech_bus.gateway.sources import InboundSource
from tests.aws.events import api_v1_event, api_v2_event, sqs_event
from tests.gateway.helpers import TOKEN, bearer, order, shopify_headers
from tests.test_import_cost import modules_loaded_by

HEAVY = {
    "starlette",
    "uvicorn",
    "anyio",
    "boto3",
    "botocore",
    "httpx",
    "pydantic",
    "fastavro",
    "yaml",
    "tenacity",
}


def _v1(path: str, raw: bytes, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    event = api_v1_event(raw.decode(), method=method)
    event.update(path=path, headers=headers, multiValueHeaders={k: [v] for k, v in headers.items()})
    return event


def _v2(
    path: str, raw: bytes, headers: dict[str, str], *, base64_body: bool = False
) -> dict[str, Any]:
    event = api_v2_event(base64.b64encode(raw).decode() if base64_body else raw.decode())
    event.update(
        rawPath=path,
        headers={k.lower(): v for k, v in headers.items()},
        isBase64Encoded=base64_body,
    )
    event["requestContext"]["http"]["path"] = path
    return event


@pytest.fixture
def handler(
    memory_buffer: MemoryBufferStore,
    sources: dict[str, InboundSource],
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    for name, value in {
        "SHOPIFY_WEBHOOK_SECRET": "shpss_current_secret_0123456789",
        "SEGMENT_WEBHOOK_SECRET": "segment-shared-secret",
    }.items():
        monkeypatch.setenv(name, value)
    return gateway_handler(
        buffer=memory_buffer, sources=sources, auth=BearerAuth([TOKEN]), emf=False
    )


def test_a_rest_api_request_with_canonical_events_is_buffered_then_202(
    handler: Any, memory_buffer: MemoryBufferStore
) -> None:
    event = order()

    answer = handler(_v1("/v1/events", json.dumps(event).encode(), bearer()), None)

    assert answer["statusCode"] == 202
    assert json.loads(answer["body"])["event_ids"] == [event["event_id"]]
    assert memory_buffer.depth() == 1


def test_an_http_api_webhook_with_a_base64_body_is_verified_on_the_raw_bytes(
    handler: Any, memory_buffer: MemoryBufferStore
) -> None:
    raw = '{"id": 7, "note": "caf\u00e9"}'.encode()

    answer = handler(_v2("/v1/sources/shopify", raw, shopify_headers(raw), base64_body=True), None)

    assert answer["statusCode"] == 202
    assert memory_buffer.claim()[0].record.payload == raw


def test_a_stage_prefix_in_the_path_is_ignored(handler: Any) -> None:
    answer = handler(_v2("/prod/v1/events", json.dumps(order()).encode(), bearer()), None)

    assert answer["statusCode"] == 202


@pytest.mark.parametrize(
    ("path", "headers", "raw", "status"),
    [
        pytest.param(
            "/v1/events", {"Content-Type": "application/json"}, b"{}", 401, id="no-token-401"
        ),
        pytest.param(
            "/v1/sources/shopify",
            {**shopify_headers(b"{}"), "X-Shopify-Hmac-Sha256": "bm9wZQ=="},
            b"{}",
            401,
            id="bad-signature-401",
        ),
        pytest.param(
            "/v1/sources/nope",
            {"Content-Type": "application/json"},
            b"{}",
            404,
            id="unknown-source-404",
        ),
        pytest.param(
            "/v1/events", {**bearer(), "Content-Type": "text/csv"}, b"a,b", 415, id="wrong-type-415"
        ),
        pytest.param("/v1/events", bearer(), b"{oops", 400, id="malformed-400"),
        pytest.param(
            "/v1/events", bearer(), b"[" + b" " * (1024 * 1024) + b"]", 413, id="too-large-413"
        ),
    ],
)
def test_refusals_match_the_servers_and_buffer_nothing(
    handler: Any,
    memory_buffer: MemoryBufferStore,
    path: str,
    headers: dict[str, str],
    raw: bytes,
    status: int,
) -> None:
    answer = handler(_v1(path, raw, headers), None)

    assert answer["statusCode"] == status
    assert json.loads(answer["body"])["error"]
    assert memory_buffer.depth() == 0


def test_without_tokens_the_lambda_refuses_canonical_events(
    memory_buffer: MemoryBufferStore, sources: dict[str, InboundSource]
) -> None:
    handler = gateway_handler(buffer=memory_buffer, sources=sources, auth=BearerAuth(), emf=False)

    answer = handler(
        _v1("/v1/events", json.dumps(order()).encode(), {"Content-Type": "application/json"}), None
    )

    assert answer["statusCode"] == 403
    assert memory_buffer.depth() == 0


def test_health_is_answered_too(handler: Any) -> None:
    answer = handler(_v1("/healthz", b"", {}, method="GET"), None)

    assert answer["statusCode"] == 200


def test_an_sqs_event_is_not_a_gateway_request(handler: Any) -> None:
    with pytest.raises(EventShapeError, match="API Gateway"):
        handler(sqs_event({"a": 1}), None)


def test_metrics_go_out_as_emf_after_each_invocation(
    memory_buffer: MemoryBufferStore,
    sources: dict[str, InboundSource],
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler = gateway_handler(buffer=memory_buffer, sources=sources, auth=BearerAuth([TOKEN]))

    handler(_v1("/v1/events", json.dumps(order()).encode(), bearer()), None)

    assert "gateway_requests" in capsys.readouterr().out


def test_importing_the_lambda_entry_point_loads_no_heavy_dependency() -> None:
    loaded = modules_loaded_by("import martech_bus.gateway.lambda_handler")

    assert loaded.isdisjoint(HEAVY), sorted(loaded & HEAVY)


def test_metrics_are_not_scraped_from_a_lambda(
    memory_buffer: MemoryBufferStore, sources: dict[str, InboundSource]
) -> None:
    handler = gateway_handler(buffer=memory_buffer, sources=sources, auth=BearerAuth([TOKEN]))

    answer = handler(_v1("/metrics", b"", {}, method="GET"), None)

    assert answer["statusCode"] == 404
    assert "EMF" in answer["body"]
