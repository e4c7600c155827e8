"""Nothing sensitive leaves through the configured logging: the PII and secret sweep."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from martech_bus.observability import configure_logging, log_event_result
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.secrets import Secret
from martech_bus.sinks.base import Outcome, OutcomeKind

EVENT_ID = "6f1c2b9e-4d3a-4e8f-9a51-2c7d0b8e1f34"
VENDOR = "acme-esp"

EMAIL = "janice.doevenport@example.com"
OTHER_EMAIL = "j.d+promo@mail.example.org"
PHONE = "+14155550123"
FORMATTED_PHONE = "+44 20 7946 0958"
FIRST_NAME = "Janice"
LAST_NAME = "Doevenport"
CITY = "Springfieldia"
IP = "203.0.113.77"
USER_ID = "user-8c1f2a9b"
ANONYMOUS_ID = "anon-77d2e1f0"
DEVICE_ID = "device-5f9e3c1d"
BEARER = "abc123def456ghi789"
BASIC = "dXNlcjpwYXNzd29yZA=="
SECRET = "s3cr3t-value"
API_KEY = "ak_live_9f8e7d6c5b"
TOKEN = "tok_0a1b2c3d4e"

SENSITIVE = [
    EMAIL,
    OTHER_EMAIL,
    "janice.doevenport%40example.com",
    PHONE,
    FORMATTED_PHONE,
    FIRST_NAME,
    LAST_NAME,
    CITY,
    IP,
    USER_ID,
    ANONYMOUS_ID,
    DEVICE_ID,
    BEARER,
    BASIC,
    SECRET,
    API_KEY,
    TOKEN,
]


def event() -> dict[str, Any]:
    return {
        "event_id": EVENT_ID,
        "event_type": "user_identified",
        "user_id": USER_ID,
        "anonymous_id": ANONYMOUS_ID,
        "context": {"ip": IP, "device": {"id": DEVICE_ID, "model": "Pixel"}},
        "properties": {
            "email": EMAIL,
            "phone": PHONE,
            "first_name": FIRST_NAME,
            "last_name": LAST_NAME,
            "city": CITY,
            "country": "US",
        },
    }


def emit_everything(log: logging.Logger) -> None:
    """Every way a sensitive value has reached a log line somewhere."""
    log.info("received", extra={"event": event(), "vendor": VENDOR, "outcome": "received"})
    log.info("event as an argument: %s", event())
    log.info(
        "fields as extras",
        extra={
            "event_id": EVENT_ID,
            "properties": event()["properties"],
            "context": event()["context"],
            "user_id": USER_ID,
        },
    )
    log.warning(
        "request failed",
        extra={
            "event_id": EVENT_ID,
            "vendor": VENDOR,
            "url": f"https://api.example.com/v3/contacts?api_key={API_KEY}&email={EMAIL}",
            "headers": {
                "Authorization": f"Bearer {BEARER}",
                "Proxy-Authorization": f"Basic {BASIC}",
                "Content-Type": "application/json",
            },
            "credential": Secret(SECRET),
            "payload": {"event_id": EVENT_ID, "contact": {"mail": EMAIL, "fn": FIRST_NAME}},
        },
    )
    log.warning("the vendor said: Authorization: Bearer %s, token=%s", BEARER, TOKEN)
    log.warning("a revealed secret in plain text: %s", SECRET)  # known since the Secret above
    log.info("call %s or %s, mail %s", PHONE, FORMATTED_PHONE, OTHER_EMAIL)
    log.info("raw body {'first_name': '%s', 'last_name': '%s'}", FIRST_NAME, LAST_NAME)
    try:
        raise ValueError(f"vendor rejected {EMAIL}: city={CITY}")
    except ValueError:
        log.exception("delivery crashed", extra={"event_id": EVENT_ID, "vendor": VENDOR})
    result = EventResult(
        EVENT_ID,
        EventStatus.DEAD_LETTERED,
        f"HTTP 400: invalid email {EMAIL}",
        (
            Outcome(
                EVENT_ID,
                OutcomeKind.DEAD_LETTERED,
                f"HTTP 400: invalid email {EMAIL} for token={TOKEN}",
                attempts=1,
                status_code=400,
                detail={"dead_letter_id": "dl-1"},
            ),
        ),
    )
    log_event_result(log, result, vendor=VENDOR, latency_ms=12.5)
    logging.getLogger("httpx").info(
        'HTTP Request: POST https://api.example.com/v3?api_key=%s&email=%s "HTTP/1.1 400"',
        API_KEY,
        "janice.doevenport%40example.com",
    )


@pytest.fixture(scope="module")
def output(module_logging: None, registry: SchemaRegistry) -> Iterator[str]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream, registry)
    emit_everything(logging.getLogger("martech_bus.pipeline"))
    yield stream.getvalue()


@pytest.mark.parametrize("value", SENSITIVE)
def test_no_sensitive_value_appears_in_the_output(output: str, value: str) -> None:
    assert value not in output


@pytest.mark.parametrize("value", [EVENT_ID, VENDOR, '"outcome":"dead_lettered"'])
def test_identifying_fields_survive(output: str, value: str) -> None:
    assert value in output


def test_every_line_is_one_json_object(output: str) -> None:
    lines = output.splitlines()
    assert len(lines) == 11
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_the_exception_is_kept_as_redacted_text(output: str) -> None:
    crashed = next(json.loads(line) for line in output.splitlines() if "crashed" in line)
    assert "ValueError: vendor rejected [email]: city=[address]" in crashed["exc_info"]
