"""Structured JSON logs with one redaction choke point.

Every record passes through ``RedactingFilter`` before any output: it rewrites
the record in place (message, ``extra=`` fields, exception text, stack), so every
handler that sees it afterwards sees the redacted record. What it masks:

- values under secret-looking keys (``martech_bus.redaction.is_sensitive``) and
  ``Secret`` objects become ``***``; a ``Secret`` seen once, and any value passed to
  ``remember_secrets``, is also scrubbed from all later text (URL-encoded forms too);
- bearer/basic credentials, ``token=...`` and sensitive query parameters in any
  text (``martech_bus.redaction.text``);
- values under PII keys become ``[<kind>]`` (``[email]``, ``[name]``, ``[ip]``...),
  e-mail addresses and phone numbers in any text ``[email]`` / ``[phone]``
  (see ``martech_bus.observability.pii``);
- an event passed whole (``extra={"event": event}``, also ``payload``, ``datum``...)
  is reduced to its ``event_id`` and ``event_type``.

If redacting a record fails, the record is replaced by a notice (fail closed):
a bug here must never print what it was meant to hide.

``configure_logging`` installs it: on the root handler it creates, on the
``martech_bus`` logger, and on httpx's and httpcore's loggers (httpx logs every
request URL at INFO), so records are clean even for handlers configured elsewhere.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import math
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import quote, quote_plus

from martech_bus import redaction
from martech_bus.observability.metrics import skip_reason
from martech_bus.observability.pii import PiiFields
from martech_bus.secrets import Secret

if TYPE_CHECKING:
    from martech_bus.pipeline import EventResult
    from martech_bus.schema.registry import SchemaRegistry

MASK: Final = redaction.MASK
#: Keys whose value is a whole event or vendor payload: logged as event_id/event_type only.
PAYLOAD_KEYS: Final = frozenset(
    {"event", "events", "payload", "payloads", "datum", "raw_event", "canonical"}
)
#: Third-party loggers whose records carry request URLs and headers.
THIRD_PARTY_LOGGERS: Final = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
PACKAGE_LOGGER: Final = "martech_bus"
MAX_DEPTH: Final = 12
MAX_ITEMS: Final = 200  # items of one list or mapping written to a log line
MIN_SECRET_LENGTH: Final = 4  # shorter values would scrub ordinary words
_REDACTED_MARK: Final = "_martech_bus_redacted"
# Attributes every LogRecord has; anything else on a record came from `extra=`.
STANDARD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    _REDACTED_MARK,
}


# Every pattern that masks something in text needs one of these: `:`/`=` (named secrets,
# query parameters, keyed PII), `@`/`%40` (e-mail), a credential scheme and a space, or a
# run of 7+ digits with separators (phone). Text without any is only scrubbed of known secrets.
_MAY_HIDE_SOMETHING: Final = re.compile(r"[:=@]|%40|(?i:bearer)\s|Basic\s|\d[\d ().-]{5,}\d")
_UNKNOWN: Final = "<unknown>"
_PAYLOAD: Final = "<payload>"
_MAX_CACHED_RULES: Final = 4096


class KnownSecrets:
    """Secret values to scrub from any text, with their URL-encoded forms; thread-safe."""

    def __init__(self) -> None:
        # Longest first, so a shorter secret never leaves a longer one's tail behind.
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        forms = {
            form(value)
            for value in values
            if len(value) >= MIN_SECRET_LENGTH
            for form in (str, _quote_all, quote_plus)
        }
        if forms.issubset(self._values):
            return
        with self._lock:
            self._values = tuple(sorted(forms.union(self._values), key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def clear(self) -> None:
        with self._lock:
            self._values = ()


def _quote_all(value: str) -> str:
    return quote(value, safe="")


KNOWN_SECRETS: Final = KnownSecrets()


def remember_secrets(*values: str) -> None:
    """Scrub these values from every later log record (call where a secret is revealed)."""
    KNOWN_SECRETS.add(*values)


class Redactor:
    """Turns any value into JSON-ready data with secrets and PII masked."""

    def __init__(self, pii: PiiFields | None = None, secrets: KnownSecrets = KNOWN_SECRETS):
        self.pii = pii if pii is not None else PiiFields.default()
        self.secrets = secrets
        self._rules: dict[tuple[str, str | None], str | None] = {}

    def text(self, value: str) -> str:
        """Free text with known secrets, credentials and PII masked."""
        value = self.secrets.scrub(value)
        if _MAY_HIDE_SOMETHING.search(value) is None:  # most short values: no regex to run
            return value
        value = redaction.text(value)
        return self.pii.text(value)

    def _rule(self, key: str, parent: str | None) -> str | None:
        """MASK, a PII marker, _PAYLOAD or None for a value under ``key``; cached per key."""
        slot = (key, parent)
        rule = self._rules.get(slot, _UNKNOWN)
        if rule is _UNKNOWN:
            if redaction.is_sensitive(key):
                rule = MASK
            else:
                kind = self.pii.kind(key, parent)
                if kind is not None:
                    rule = f"[{kind}]"
                else:
                    rule = _PAYLOAD if key.lower() in PAYLOAD_KEYS else None
            if len(self._rules) < _MAX_CACHED_RULES:
                self._rules[slot] = rule
        return rule

    def value(self, value: Any, key: str | None = None, parent: str | None = None) -> Any:
        """``value`` (found under ``key`` inside ``parent``) as redacted JSON-ready data."""
        return self._value(value, key, parent, 0)

    def _value(self, value: Any, key: str | None, parent: str | None, depth: int) -> Any:
        if isinstance(value, Secret):
            self.secrets.add(value.reveal())
            return MASK
        if value is None or isinstance(value, bool):
            return value
        if key is not None:
            rule = self._rule(key, parent)
            if rule is _PAYLOAD:
                return self._summary(value, depth)
            if rule is not None:
                empty = isinstance(value, str) and not value  # absence is not personal data
                return value if empty and rule != MASK else rule
        if depth > MAX_DEPTH:
            return "[...]"
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, enum.Enum):
            return self._value(value.value, None, parent, depth)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return self.text(redaction.text_of(value))
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, Mapping):
            items = list(value.items())
            out = {str(k): self._value(v, str(k), key, depth + 1) for k, v in items[:MAX_ITEMS]}
            if len(items) > MAX_ITEMS:
                out["..."] = f"{len(items) - MAX_ITEMS} more"
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            out_list = [self._value(v, key, parent, depth + 1) for v in items[:MAX_ITEMS]]
            if len(items) > MAX_ITEMS:
                out_list.append(f"... {len(items) - MAX_ITEMS} more")
            return out_list
        if isinstance(value, BaseException):
            return self.text(f"{type(value).__name__}: {value}")
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            return self._value(fields, key, parent, depth)
        try:
            text = str(value)
        except Exception:  # an object whose __str__ fails must not lose the line
            return f"<unprintable {type(value).__name__}>"
        return self.text(text)

    def _summary(self, value: Any, depth: int) -> Any:
        """A whole event or payload, reduced to what identifies it."""
        if isinstance(value, str | bytes | bytearray):
            try:
                value = json.loads(value)
            except ValueError:
                return self.text(value) if isinstance(value, str) else "[payload omitted]"
        if isinstance(value, Mapping):
            kept = {k: value[k] for k in ("event_id", "event_type") if k in value}
            return self._value(kept, None, None, depth + 1) if kept else "[payload omitted]"
        if isinstance(value, list | tuple):
            return [self._summary(item, depth + 1) for item in value[:MAX_ITEMS]]
        if hasattr(value, "event_id"):  # a model object: keep its identity only
            kept = {k: getattr(value, k) for k in ("event_id", "event_type") if hasattr(value, k)}
            return self._value(kept, None, None, depth + 1)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return "[payload omitted]"


class RedactingFilter(logging.Filter):
    """The choke point: rewrites each record in place so nothing sensitive reaches a handler."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor if redactor is not None else Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _REDACTED_MARK, False):
            return True
        try:
            self._redact(record)
        except Exception as exc:  # fail closed: a notice instead of what may be unredacted
            self._replace(record, exc)
        record.__dict__[_REDACTED_MARK] = True
        return True

    def _redact(self, record: logging.LogRecord) -> None:
        redact = self.redactor
        fields = record.__dict__
        # Extras first: a Secret among them must be known before the message is scrubbed.
        for key in [k for k in fields if k not in STANDARD_ATTRIBUTES]:
            fields[key] = redact.value(fields[key], key)
        message = self._message(record)
        record.msg, record.args = redact.text(message), None
        if "message" in fields:
            record.message = record.msg
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact.text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact.text(record.stack_info)

    def _message(self, record: logging.LogRecord) -> str:
        redact = self.redactor
        msg = record.msg
        if not isinstance(msg, str):
            msg = redact.value(msg)
            msg = msg if isinstance(msg, str) else json.dumps(msg, ensure_ascii=False)
        args = record.args
        if not args:
            return msg
        if isinstance(args, Mapping):
            safe_args: Any = {k: redact.value(v, str(k)) for k, v in args.items()}
        else:
            safe_args = tuple(redact.value(arg) for arg in args)
        try:
            return str(msg % safe_args)
        except (TypeError, ValueError, KeyError):  # e.g. %d given a masked value
            return f"{msg} {safe_args}"

    @staticmethod
    def _replace(record: logging.LogRecord, error: Exception) -> None:
        for key in [k for k in record.__dict__ if k not in STANDARD_ATTRIBUTES]:
            del record.__dict__[key]
        record.msg = f"[log record withheld: redaction failed with {type(error).__name__}]"
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None


_FORMATTER: Final = logging.Formatter()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, extras, exc_info.

    A record that did not pass a ``RedactingFilter`` is redacted here first, so the
    formatter is safe on a handler configured without the filter.
    """

    def __init__(self, redacting: RedactingFilter | None = None) -> None:
        super().__init__()
        self.redacting = redacting if redacting is not None else RedactingFilter()

    def format(self, record: logging.LogRecord) -> str:
        self.redacting.filter(record)
        created = datetime.fromtimestamp(record.created, tz=UTC)
        line: dict[str, Any] = {
            "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES:
                line[f"extra_{key}" if key in line else key] = value
        if record.exc_info and not record.exc_text:  # pragma: no cover - the filter sets it
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` owns (found and replaced when called again)."""


def configure_logging(
    level: int | str = "INFO",
    stream: IO[str] | None = None,
    registry: SchemaRegistry | None = None,
    *,
    replace: bool = True,
) -> logging.Handler:
    """JSON lines through the redacting filter, on the root logger; returns the handler.

    ``registry`` adds the catalogue's PII fields to the built-in ones. ``replace``
    (like ``logging.basicConfig(force=True)``) removes other root handlers, e.g. the
    one the Lambda runtime installs; kept ones get the filter too. Calling it
    again replaces what an earlier call installed.
    """
    pii = PiiFields.from_registry(registry) if registry is not None else PiiFields.default()
    redacting = RedactingFilter(Redactor(pii))
    handler = _JsonHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(redacting)
    handler.setFormatter(JsonFormatter(redacting))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _JsonHandler) or replace:
            root.removeHandler(old)
        else:
            _swap_filter(old, redacting)
    root.addHandler(handler)
    root.setLevel(level)
    package = logging.getLogger(PACKAGE_LOGGER)
    package.setLevel(level)
    package.propagate = True
    for logger in (package, *(logging.getLogger(n) for n in THIRD_PARTY_LOGGERS)):
        _swap_filter(logger, redacting)
    return handler


def _swap_filter(target: logging.Filterer, redacting: RedactingFilter) -> None:
    for old in [f for f in target.filters if isinstance(f, RedactingFilter)]:
        target.removeFilter(old)
    target.addFilter(redacting)


def log_event_result(
    logger: logging.Logger,
    result: EventResult,
    *,
    vendor: str | Sequence[str] | None,
    latency_ms: float | None,
) -> None:
    """One line per event and route: event_id, vendor, outcome, attempts, latency, reason.

    ``vendor`` names every route, or each route in the order of ``result.outcomes``
    (the pipeline's route order). Never the payload. Delivered and skipped events
    log at INFO, the rest at WARNING.
    """
    latency = None if latency_ms is None else round(latency_ms, 3)
    if not result.outcomes:  # invalid, or no route
        fields: dict[str, Any] = {
            "event_id": result.event_id,
            "vendor": vendor if isinstance(vendor, str) else None,
            "outcome": str(result.status),
            "attempts": 0,
            "latency_ms": latency,
            "reason": result.reason,
        }
        if result.problems:
            fields["problems"] = len(result.problems)
        level = logging.INFO if result.ok else logging.WARNING
        logger.log(level, "event %s", result.status, extra=fields)
        return
    if not isinstance(vendor, str) and vendor is not None and len(vendor) != len(result.outcomes):
        raise ValueError(
            f"event {result.event_id}: {len(result.outcomes)} outcomes but {len(vendor)} vendor names"
        )
    for index, outcome in enumerate(result.outcomes):
        fields = {
            "event_id": outcome.event_id,
            "vendor": vendor if isinstance(vendor, str) or vendor is None else vendor[index],
            "outcome": str(outcome.kind),
            "attempts": outcome.attempts,
            "latency_ms": latency,
            "reason": outcome.reason,
        }
        if outcome.kind == "skipped":
            fields["skip_reason"] = skip_reason(outcome)
        if outcome.status_code is not None:
            fields["status_code"] = outcome.status_code
        dead_letter_id = outcome.detail.get("dead_letter_id")
        if dead_letter_id is not None:
            fields["dead_letter_id"] = dead_letter_id
        level = logging.INFO if outcome.ok else logging.WARNING
        logger.log(level, "event %s", outcome.kind, extra=fields)


__all__ = [
    "KNOWN_SECRETS",
    "PAYLOAD_KEYS",
    "THIRD_PARTY_LOGGERS",
    "JsonFormatter",
    "KnownSecrets",
    "RedactingFilter",
    "Redactor",
    "configure_logging",
    "log_event_result",
    "remember_secrets",
]
