"""JSON log lines, the redacting filter's rules, configure_logging and log_event_result."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from martech_bus import redaction
from martech_bus.observability.logs import (
    THIRD_PARTY_LOGGERS,
    JsonFormatter,
    RedactingFilter,
    Redactor,
    configure_logging,
    log_event_result,
    remember_secrets,
)
from martech_bus.observability.pii import PiiFields
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.secrets import Secret
from martech_bus.sinks.base import Outcome, OutcomeKind

pytestmark = pytest.mark.usefixtures("clean_logging")

EVENT_ID = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    return stream


@pytest.fixture
def log(stream: io.StringIO) -> logging.Logger:
    return logging.getLogger("martech_bus.test")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def only(stream: io.StringIO) -> dict[str, Any]:
    [line] = lines(stream)
    return line


def record(msg: object = "hello", *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("martech_bus.x", logging.INFO, __file__, 1, msg, args or None, None)
    made.__dict__.update(extra)
    return made


# -- the JSON line ---------------------------------------------------------------------


def test_a_line_has_timestamp_level_logger_and_message() -> None:
    made = record("hello %s", "world")
    made.created = datetime(2026, 11, 20, 12, 0, 0, 123000, tzinfo=UTC).timestamp()
    assert json.loads(JsonFormatter().format(made)) == {
        "timestamp": "2026-11-20T12:00:00.123Z",
        "level": "INFO",
        "logger": "martech_bus.x",
        "message": "hello world",
    }


def test_extra_fields_become_top_level_fields(log: logging.Logger, stream: io.StringIO) -> None:
    log.info("sent", extra={"event_id": EVENT_ID, "vendor": "acme", "attempts": 2, "ok": True})
    line = only(stream)
    assert (line["event_id"], line["vendor"], line["attempts"], line["ok"]) == (
        EVENT_ID,
        "acme",
        2,
        True,
    )


def test_an_extra_named_like_a_base_field_is_prefixed() -> None:
    line = json.loads(JsonFormatter().format(record(level="custom")))
    assert (line["level"], line["extra_level"]) == ("INFO", "custom")


def test_an_exception_is_a_string_field(log: logging.Logger, stream: io.StringIO) -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("failed")
    exc_info = only(stream)["exc_info"]
    assert exc_info.startswith("Traceback") and exc_info.endswith("KeyError: 'missing'")


def test_values_that_are_not_json_are_rendered() -> None:
    when = datetime(2026, 1, 2, tzinfo=UTC)
    line = json.loads(
        JsonFormatter().format(record(when=when, kind=OutcomeKind.SKIPPED, nan=float("nan")))
    )
    assert (line["when"], line["kind"], line["nan"]) == (
        "2026-01-02T00:00:00+00:00",
        "skipped",
        "nan",
    )


# -- the filter's rules ------------------------------------------------------------------


def test_the_formatter_alone_still_redacts() -> None:
    line = json.loads(JsonFormatter().format(record("to %s", "jane@example.com", api_key="k-123")))
    assert (line["message"], line["api_key"]) == ("to [email]", "***")


def test_a_whole_event_is_reduced_to_its_identity() -> None:
    event = {"event_id": EVENT_ID, "event_type": "page_viewed", "properties": {"path": "/x"}}
    filtered = record(event=event, events=[event, event])
    RedactingFilter().filter(filtered)
    assert filtered.__dict__["event"] == {"event_id": EVENT_ID, "event_type": "page_viewed"}
    assert filtered.__dict__["events"] == [filtered.__dict__["event"]] * 2


def test_an_event_given_as_json_text_is_reduced_too() -> None:
    filtered = record(payload=json.dumps({"event_id": EVENT_ID, "email": "jane@example.com"}))
    RedactingFilter().filter(filtered)
    assert filtered.__dict__["payload"] == {"event_id": EVENT_ID}


def test_a_payload_without_an_identity_is_omitted() -> None:
    filtered = record(payload={"contact": {"fn": "Jane"}})
    RedactingFilter().filter(filtered)
    assert filtered.__dict__["payload"] == "[payload omitted]"


def test_a_dataclass_is_redacted_field_by_field() -> None:
    outcome = Outcome(EVENT_ID, OutcomeKind.DEAD_LETTERED, "bad email jane@example.com", 3)
    filtered = record(outcome=outcome)
    RedactingFilter().filter(filtered)
    assert filtered.__dict__["outcome"]["reason"] == "bad email [email]"


def test_a_secret_is_masked_and_then_scrubbed_from_any_text() -> None:
    redacting = RedactingFilter()
    first = record(credential=Secret("s3cr3t-value"))
    later = record("the vendor echoed %s", "s3cr3t-value")
    redacting.filter(first)
    redacting.filter(later)
    assert (first.__dict__["credential"], later.getMessage()) == ("***", "the vendor echoed ***")


def test_remembered_secrets_are_scrubbed_in_url_encoded_form_too() -> None:
    remember_secrets("p@ss word/1")
    filtered = record("GET /v1/p%40ss%20word%2F1/events and /v1/p%40ss+word%2F1")
    RedactingFilter().filter(filtered)
    assert filtered.getMessage() == "GET /v1/***/events and /v1/***"


def test_a_message_that_is_not_text_is_redacted() -> None:
    filtered = record({"email": "jane@example.com", "vendor": "acme"})
    RedactingFilter().filter(filtered)
    assert json.loads(filtered.getMessage()) == {"email": "[email]", "vendor": "acme"}


def test_a_format_that_no_longer_fits_its_masked_argument_still_logs() -> None:
    filtered = record("code %d", Secret("1234567"))
    RedactingFilter().filter(filtered)
    assert filtered.getMessage() == "code %d ('***',)"


def test_mapping_arguments_are_redacted_by_key() -> None:
    filtered = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "%(email)s %(vendor)s",
        ({"email": "a@b.co", "vendor": "acme"},),
        None,
    )
    RedactingFilter().filter(filtered)
    assert filtered.getMessage() == "[email] acme"


class _Exploding(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("boom")

    def __len__(self) -> int:
        return 1


def test_a_record_that_cannot_be_redacted_is_withheld() -> None:
    filtered = record("to jane@example.com", broken=_Exploding(), vendor="acme")
    RedactingFilter().filter(filtered)
    assert filtered.getMessage() == "[log record withheld: redaction failed with RuntimeError]"
    assert "broken" not in filtered.__dict__ and "vendor" not in filtered.__dict__


def test_a_record_is_redacted_only_once() -> None:
    redacting = RedactingFilter()
    filtered = record("[email] stays", email="jane@example.com")
    redacting.filter(filtered)
    filtered.__dict__["email"] = "changed after redaction"
    redacting.filter(filtered)
    assert filtered.__dict__["email"] == "changed after redaction"


# -- configure_logging ---------------------------------------------------------------------


def test_third_party_loggers_get_the_filter() -> None:
    configure_logging("INFO", io.StringIO())
    assert all(
        any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
        for name in THIRD_PARTY_LOGGERS
    )


def test_an_httpx_record_is_clean_for_a_handler_installed_elsewhere() -> None:
    configure_logging("INFO", io.StringIO())
    elsewhere = io.StringIO()
    handler = logging.StreamHandler(elsewhere)
    logging.getLogger("httpx").addHandler(handler)
    logging.getLogger("httpx").info("GET https://api.example.com/?access_token=abc123456")
    assert elsewhere.getvalue() == "GET https://api.example.com/?access_token=***\n"


def test_configuring_twice_leaves_one_handler_and_one_filter() -> None:
    configure_logging("INFO", io.StringIO())
    configure_logging("INFO", io.StringIO())
    root, httpx = logging.getLogger(), logging.getLogger("httpx")
    assert len(root.handlers) == 1
    assert sum(isinstance(f, RedactingFilter) for f in httpx.filters) == 1


def test_other_root_handlers_are_replaced_by_default() -> None:
    foreign = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(foreign)
    configure_logging("INFO", io.StringIO())
    assert foreign not in logging.getLogger().handlers


def test_kept_root_handlers_see_redacted_records() -> None:
    seen = io.StringIO()
    foreign = logging.StreamHandler(seen)
    logging.getLogger().addHandler(foreign)
    configure_logging("INFO", io.StringIO(), replace=False)
    logging.getLogger("somewhere.else").warning("mail jane@example.com")
    assert seen.getvalue() == "mail [email]\n"


def test_the_level_applies_to_the_package(stream: io.StringIO) -> None:
    configure_logging("WARNING", stream)
    logging.getLogger("martech_bus.pipeline").info("not shown")
    assert stream.getvalue() == ""


def test_the_catalogue_adds_its_pii_fields(stream: io.StringIO, registry: Any) -> None:
    configure_logging("INFO", stream, registry)
    logging.getLogger("martech_bus.x").info("m", extra={"context": {"device": {"id": "d-1"}}})
    assert only(stream)["context"] == {"device": {"id": "[device_id]"}}


# -- log_event_result ----------------------------------------------------------------------


def delivered(attempts: int = 1) -> Outcome:
    return Outcome(EVENT_ID, OutcomeKind.DELIVERED, attempts=attempts, status_code=200)


def test_one_line_per_route_names_each_vendor(log: logging.Logger, stream: io.StringIO) -> None:
    skipped = Outcome(EVENT_ID, OutcomeKind.SKIPPED, "consent denied: marketing")
    result = EventResult(EVENT_ID, EventStatus.DELIVERED, None, (delivered(2), skipped))
    log_event_result(log, result, vendor=["acme", "globex"], latency_ms=41.23456)
    assert [
        (x["vendor"], x["outcome"], x["attempts"], x["latency_ms"], x.get("skip_reason"))
        for x in lines(stream)
    ] == [("acme", "delivered", 2, 41.235, None), ("globex", "skipped", 0, 41.235, "consent")]


def test_the_line_never_carries_the_payload(log: logging.Logger, stream: io.StringIO) -> None:
    result = EventResult(EVENT_ID, EventStatus.DELIVERED, None, (delivered(),))
    log_event_result(log, result, vendor="acme", latency_ms=5)
    assert set(only(stream)) == {
        "timestamp",
        "level",
        "logger",
        "message",
        "event_id",
        "vendor",
        "outcome",
        "attempts",
        "latency_ms",
        "reason",
        "status_code",
    }


def test_a_failed_route_logs_a_warning_with_its_dead_letter(
    log: logging.Logger, stream: io.StringIO
) -> None:
    failed = Outcome(
        EVENT_ID, OutcomeKind.DEAD_LETTERED, "HTTP 400", 1, 400, {"dead_letter_id": "dl-9"}
    )
    log_event_result(
        log,
        EventResult(EVENT_ID, EventStatus.DEAD_LETTERED, "HTTP 400", (failed,)),
        vendor="acme",
        latency_ms=None,
    )
    line = only(stream)
    assert (line["level"], line["dead_letter_id"], line["reason"]) == (
        "WARNING",
        "dl-9",
        "HTTP 400",
    )


def test_an_invalid_event_logs_one_line_with_its_problem_count(
    log: logging.Logger, stream: io.StringIO
) -> None:
    result = EventResult(None, EventStatus.INVALID, "bad", problems=("a", "b"))
    log_event_result(log, result, vendor="acme", latency_ms=1.0)
    line = only(stream)
    assert (line["outcome"], line["problems"], line["level"]) == ("invalid", 2, "WARNING")


def test_vendor_names_must_match_the_routes(log: logging.Logger) -> None:
    result = EventResult(EVENT_ID, EventStatus.DELIVERED, None, (delivered(), delivered()))
    with pytest.raises(ValueError, match="2 outcomes but 1 vendor names"):
        log_event_result(log, result, vendor=["acme"], latency_ms=1.0)


TOKENS = [
    *"0123456789+().-=:@%/ '\"?&\n",
    *("%40", "%2B", "email", "first_name", "user-id", "Bearer ", "Basic ", "token", "api_key"),
    *("jane", "example.com", "abcdef", "12:00", "2026-11-20"),
    *("jane@example.com", "jane%40example.com", "+14155550123", "415-555-0123", "020 7946 0958"),
    *("Bearer abcdef123", "first_name=Jane", "?api_key=k-123", "Basic dXNlcjpw"),
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=24).map("".join))
def test_the_quick_check_never_skips_text_that_would_be_masked(text: str) -> None:
    assert Redactor().text(text) == PiiFields.default().text(redaction.text(text))
