"""Every refused request: a clear 4xx with a JSON error body, and nothing buffered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.gateway.app import create_app
from martech_bus.gateway.auth import BearerAuth
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import (
    NEXT_TOKEN,
    SHOPIFY_SECRET,
    bearer,
    body,
    order,
    segment_headers,
    shopify_headers,
)

SHOPIFY_BODY = b'{"id": 1, "currency": "EUR"}'
JSON = {"Content-Type": "application/json"}

CASES = [
    pytest.param(
        "POST",
        "/v1/events",
        JSON,
        body(order()),
        401,
        "unauthorized",
        id="a-missing-bearer-token-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(NEXT_TOKEN),
        body(order()),
        401,
        "unauthorized",
        id="an-unknown-bearer-token-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        {**JSON, "Authorization": "Basic dXNlcjpwYXNz"},
        body(order()),
        401,
        "unauthorized",
        id="a-non-bearer-authorization-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        {**bearer(), "Content-Type": "text/plain"},
        body(order()),
        415,
        "unsupported_media_type",
        id="a-text-body-is-415",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        {**bearer(), "Content-Type": "application/json; charset=latin-1"},
        body(order()),
        415,
        "unsupported_media_type",
        id="a-non-utf8-charset-is-415",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        {k: v for k, v in bearer().items() if k != "Content-Type"},
        body(order()),
        415,
        "unsupported_media_type",
        id="a-missing-content-type-is-415",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        b'{"event_id": "x", ',
        400,
        "bad_request",
        id="malformed-json-is-400",
    ),
    pytest.param(
        "POST", "/v1/events", bearer(), b"", 400, "bad_request", id="an-empty-body-is-400"
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        b'"just text"',
        400,
        "bad_request",
        id="a-json-string-is-400",
    ),
    pytest.param(
        "POST", "/v1/events", bearer(), b"[]", 400, "bad_request", id="an-empty-array-is-400"
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        b'{"events": {"a": 1}}',
        400,
        "bad_request",
        id="events-not-an-array-is-400",
    ),
    pytest.param(
        "POST", "/v1/events", bearer(), b"[NaN]", 400, "bad_request", id="nan-is-not-json-so-400"
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        body([order(), {**order(), "event_id": None}]),
        400,
        "bad_request",
        id="an-event-without-event-id-is-400",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        body({**order(), "event_id": 42}),
        400,
        "bad_request",
        id="a-numeric-event-id-is-400",
    ),
    pytest.param(
        "POST",
        "/v1/events",
        bearer(),
        body([order(), 7]),
        400,
        "bad_request",
        id="a-non-object-event-is-400",
    ),
    pytest.param(
        "GET", "/v1/events", bearer(), None, 405, "method_not_allowed", id="get-on-events-is-405"
    ),
    pytest.param(
        "POST", "/v2/events", bearer(), body(order()), 404, "not_found", id="an-unknown-path-is-404"
    ),
    pytest.param(
        "POST",
        "/v1/sources/mailchimp",
        JSON,
        SHOPIFY_BODY,
        404,
        "unknown_source",
        id="an-unknown-source-is-404",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify/extra",
        JSON,
        SHOPIFY_BODY,
        404,
        "not_found",
        id="a-nested-source-path-is-404",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        {**shopify_headers(SHOPIFY_BODY), "X-Shopify-Hmac-Sha256": "AAAA"},
        SHOPIFY_BODY,
        401,
        "invalid_signature",
        id="a-wrong-shopify-signature-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        JSON,
        SHOPIFY_BODY,
        401,
        "invalid_signature",
        id="a-missing-shopify-signature-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        shopify_headers(SHOPIFY_BODY, "not-our-secret"),
        SHOPIFY_BODY,
        401,
        "invalid_signature",
        id="a-signature-with-an-unknown-secret-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        shopify_headers(SHOPIFY_BODY),
        SHOPIFY_BODY + b" ",
        401,
        "invalid_signature",
        id="a-body-changed-after-signing-is-401",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        shopify_headers(b"{not json"),
        b"{not json",
        400,
        "bad_request",
        id="a-signed-body-that-is-not-json-is-400",
    ),
    pytest.param(
        "POST",
        "/v1/sources/shopify",
        {**shopify_headers(SHOPIFY_BODY), "Content-Type": "application/x-www-form-urlencoded"},
        SHOPIFY_BODY,
        415,
        "unsupported_media_type",
        id="a-form-encoded-webhook-is-415",
    ),
    pytest.param(
        "POST",
        "/v1/sources/segment",
        {**segment_headers(b"{}"), "X-Signature": "zz"},
        b"{}",
        401,
        "invalid_signature",
        id="a-signature-that-is-not-hex-is-401",
    ),
    pytest.param(
        "GET",
        "/v1/sources/shopify",
        JSON,
        None,
        405,
        "method_not_allowed",
        id="get-on-a-source-is-405",
    ),
]


@pytest.mark.parametrize(("method", "path", "headers", "content", "status", "code"), CASES)
def test_refused_requests_answer_json_and_buffer_nothing(
    client: TestClient,
    memory_buffer: MemoryBufferStore,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    status: int,
    code: str,
) -> None:
    answer = client.request(method, path, headers=headers, content=content)

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] == code
    assert answer.json()["message"]
    assert memory_buffer.depth() == 0


def test_a_missing_token_answer_names_the_bearer_scheme(client: TestClient) -> None:
    answer = client.post("/v1/events", headers=JSON, content=body(order()))

    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_event_without_an_id_is_named_by_its_index(client: TestClient) -> None:
    answer = client.post(
        "/v1/events", headers=bearer(), content=body([order(), {"event_type": "x"}, order()])
    )

    assert answer.json()["invalid"] == [1]


def _gateway_client(make_gateway: MakeGateway, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_gateway(**overrides)), client=("127.0.0.1", 50000))


def test_a_declared_content_length_over_the_limit_is_413_before_reading(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    client = _gateway_client(make_gateway, max_body_bytes=100)

    answer = client.post("/v1/events", headers=bearer(), content=b"[" + b" " * 200 + b"]")

    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"
    assert memory_buffer.depth() == 0


def test_a_chunked_body_over_the_limit_is_413(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    client = _gateway_client(make_gateway, max_body_bytes=1000)

    def chunks() -> Iterator[bytes]:  # no Content-Length: only the bytes read can tell
        yield b"["
        for _ in range(50):
            yield b" " * 100
        yield b"]"

    answer = client.post("/v1/sources/shopify", headers=shopify_headers(b"[]"), content=chunks())

    assert answer.status_code == 413
    assert memory_buffer.depth() == 0


def test_the_default_limit_is_one_mebibyte(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    client = _gateway_client(make_gateway)
    payload = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'

    answer = client.post("/v1/sources/shopify", headers=shopify_headers(payload), content=payload)

    assert answer.status_code == 413
    assert memory_buffer.depth() == 0


def test_a_source_without_any_available_secret_is_503_not_401(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    from martech_bus.secrets import SecretResolver

    client = _gateway_client(make_gateway, secrets=SecretResolver(environ={}))

    answer = client.post(
        "/v1/sources/shopify", headers=shopify_headers(SHOPIFY_BODY), content=SHOPIFY_BODY
    )

    assert answer.status_code == 503
    assert "retry-after" in answer.headers
    assert memory_buffer.depth() == 0


def test_development_mode_refuses_a_remote_client_with_403(
    make_gateway: MakeGateway, memory_buffer: MemoryBufferStore
) -> None:
    gateway = make_gateway(auth=BearerAuth())
    remote = TestClient(create_app(gateway), client=("198.51.100.7", 40000))

    answer = remote.post("/v1/events", headers=JSON, content=body(order()))

    assert answer.status_code == 403
    assert "development mode" in answer.json()["message"]
    assert memory_buffer.depth() == 0


def test_a_valid_shopify_signature_is_not_refused(client: TestClient) -> None:
    # the counterpart of the signature cases above: the same request, rightly signed
    answer = client.post(
        "/v1/sources/shopify",
        headers=shopify_headers(SHOPIFY_BODY, SHOPIFY_SECRET),
        content=SHOPIFY_BODY,
    )

    assert answer.status_code == 202
