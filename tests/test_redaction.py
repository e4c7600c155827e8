"""Secrets stay out of what outlives a request."""

from __future__ import annotations

import pytest

from martech_bus import redaction as redact

SECRET = "sk_live_51Hx9"


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "AUTHORIZATION",
        "proxy-authorization",
        "Cookie",
        "X-Api-Key",
        "x_api_key",
        "X-Auth-Token",
        "access_token",
        "Stripe-Signature",
        "X-Hub-Signature-256",
        "client_secret",
        "X-Amz-Security-Token",
        "key",
        "private_key",
    ],
)
def test_sensitive_names_are_recognised_in_any_case_and_spelling(name: str) -> None:
    assert redact.is_sensitive(name)


@pytest.mark.parametrize(
    "name", ["Content-Type", "Retry-After", "X-Request-Id", "author", "keyword"]
)
def test_ordinary_names_are_kept(name: str) -> None:
    assert not redact.is_sensitive(name)


def test_headers_drop_secrets_from_mappings_and_pairs() -> None:
    assert redact.headers({"Authorization": SECRET, "Accept": "application/json"}) == {
        "Accept": "application/json"
    }
    pairs = [("Set-Cookie", SECRET), ("Vary", "a"), ("Vary", b"b")]
    assert redact.headers(pairs) == {"Vary": "a, b"}
    assert redact.headers(None) == {}


def test_urls_lose_credentials_and_secret_parameters_but_keep_their_shape() -> None:
    url = f"https://user:{SECRET}@graph.example/v19/1/events?access_token={SECRET}&test=1"
    assert redact.url(url) == "https://graph.example/v19/1/events?access_token=***&test=1"
    plain = "https://api.example/track?a=b%20c&d="
    assert redact.url(plain) == plain  # untouched when nothing is sensitive


def test_text_masks_bearer_tokens_and_named_secrets() -> None:
    text = f"401 for https://x.test/a?api_key={SECRET}&b=2 (Authorization: Bearer {SECRET}; 'client_secret': '{SECRET}')"
    masked = redact.text(text)
    assert SECRET not in masked
    assert "b=2" in masked and "Bearer ***" in masked
    assert redact.text(masked) == masked
    assert redact.text("basic validation failed; the token expired") == (
        "basic validation failed; the token expired"
    )


def test_bodies_mask_secret_keys_at_any_depth() -> None:
    body = {"data": [{"em": "h", "auth": {"password": SECRET}}], "access_token": SECRET}
    masked = redact.body(body)
    assert SECRET not in masked and '"em": "h"' in masked
    assert redact.body(masked) == masked  # JSON text is parsed and masked again, unchanged
    assert SECRET not in redact.body(f"token={SECRET}".encode())
    assert redact.body(None) is None


def test_exchange_normalises_a_request_to_safe_json_data() -> None:
    request = {
        "method": "POST",
        "url": f"https://x.test/?token={SECRET}",
        "headers": {"Authorization": SECRET},
        "body": b'{"ok": true}',
        "timeout": 2.5,
        "api_key": SECRET,
        "elapsed": object(),
    }
    safe = redact.exchange(request)
    assert safe is not None
    assert SECRET not in str(safe)
    assert safe["headers"] == {} and safe["timeout"] == 2.5 and safe["api_key"] == redact.MASK
    assert redact.exchange(safe) == safe
