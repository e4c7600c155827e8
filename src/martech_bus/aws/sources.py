"""Which AWS service invoked the function, and the canonical events inside its event.

Shapes follow AWS's documented Lambda events: API Gateway REST (v1) and HTTP
API (payload format 2.0), SQS (standard and FIFO), EventBridge and Kinesis Data
Streams. Parsing never raises for a bad *payload*: a record whose body is not
JSON reaches the pipeline as its raw text, which the pipeline rejects as invalid
and keeps as a dead letter. Only a malformed *envelope* (no identifier, an
unknown shape) raises, because then nothing can be acknowledged.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from martech_bus.errors import TerminalError


class EventSource(enum.StrEnum):
    """The AWS service that invoked the function."""

    API_GATEWAY_V1 = "api_gateway_v1"
    API_GATEWAY_V2 = "api_gateway_v2"
    SQS = "sqs"
    SQS_FIFO = "sqs_fifo"
    EVENTBRIDGE = "eventbridge"
    KINESIS = "kinesis"

    @property
    def is_http(self) -> bool:
        return self in (EventSource.API_GATEWAY_V1, EventSource.API_GATEWAY_V2)

    @property
    def is_batch(self) -> bool:
        """A batch of records acknowledged with ``batchItemFailures``."""
        return self in (EventSource.SQS, EventSource.SQS_FIFO, EventSource.KINESIS)

    @property
    def is_ordered(self) -> bool:
        """Records must be handled in order: stop at the first failure."""
        return self in (EventSource.SQS_FIFO, EventSource.KINESIS)


class EventShapeError(TerminalError, ValueError):
    """A Lambda event whose envelope cannot be read (not the payload inside it)."""


class UnknownEventSourceError(EventShapeError):
    """An event shape this entry point does not handle."""


_RECORD_SOURCES: Final = {"aws:sqs": EventSource.SQS, "aws:kinesis": EventSource.KINESIS}


def detect_source(event: object) -> EventSource:
    """The invoking service, from the event's shape alone."""
    if not isinstance(event, Mapping):
        raise UnknownEventSourceError(
            f"a Lambda event must be a JSON object, got {type(event).__name__}"
        )
    if isinstance(event.get("Records"), list):
        return _records_source(event["Records"])
    request_context = event.get("requestContext")
    if (
        event.get("version") == "2.0"
        and isinstance(request_context, Mapping)
        and isinstance(request_context.get("http"), Mapping)
    ):
        return EventSource.API_GATEWAY_V2
    if "httpMethod" in event:
        return EventSource.API_GATEWAY_V1
    if {"detail-type", "source", "detail"} <= event.keys():
        return EventSource.EVENTBRIDGE
    raise UnknownEventSourceError(
        "unknown Lambda event shape; expected API Gateway (v1 or v2), SQS, EventBridge or "
        f"Kinesis, got keys: {', '.join(sorted(map(str, event))) or '(none)'}"
    )


def _records_source(records: list[Any]) -> EventSource:
    if not records:
        raise UnknownEventSourceError("a Records event with no records")
    names = {r.get("eventSource") if isinstance(r, Mapping) else None for r in records}
    if len(names) != 1:
        raise UnknownEventSourceError(
            f"records from several sources in one event: {sorted(map(str, names))}"
        )
    [name] = names
    source = _RECORD_SOURCES.get(name) if isinstance(name, str) else None
    if source is None:
        raise UnknownEventSourceError(
            f"unsupported record eventSource {name!r}; supported: {', '.join(_RECORD_SOURCES)}"
        )
    if source is EventSource.SQS and any(_is_fifo(r) for r in records):
        return EventSource.SQS_FIFO
    return source


def _is_fifo(record: Mapping[str, Any]) -> bool:
    attributes = record.get("attributes")
    arn = record.get("eventSourceARN")
    return (isinstance(arn, str) and arn.endswith(".fifo")) or (
        isinstance(attributes, Mapping) and "MessageGroupId" in attributes
    )


# -- batch records ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One SQS message or Kinesis record: what to report it by, and the pipeline's input."""

    identifier: str  # SQS messageId / Kinesis sequenceNumber: the batchItemFailures itemIdentifier
    event: Any  # a parsed JSON value, or the raw text when the payload is not JSON


def batch_records(event: Mapping[str, Any], source: EventSource) -> list[Record]:
    """The records of an SQS or Kinesis event, in delivery order."""
    read = _kinesis_record if source is EventSource.KINESIS else _sqs_record
    return [read(index, raw) for index, raw in enumerate(event["Records"])]


def _sqs_record(index: int, raw: Mapping[str, Any]) -> Record:
    body = raw.get("body")
    if not isinstance(body, str):
        raise EventShapeError(f"SQS record {index} has no string body")
    return Record(_identifier(index, raw, "messageId"), parse_json_or_text(body))


def _kinesis_record(index: int, raw: Mapping[str, Any]) -> Record:
    kinesis = raw.get("kinesis")
    if not isinstance(kinesis, Mapping) or not isinstance(kinesis.get("data"), str):
        raise EventShapeError(f"Kinesis record {index} has no kinesis.data")
    data: str = kinesis["data"]
    identifier = _identifier(index, kinesis, "sequenceNumber")
    try:
        text = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        # Not base64 text: the pipeline dead-letters the data exactly as received.
        return Record(identifier, data)
    return Record(identifier, parse_json_or_text(text))


def _identifier(index: int, raw: Mapping[str, Any], key: str) -> str:
    # An empty or unknown identifier in batchItemFailures fails the whole batch at AWS's
    # end anyway; refusing it here says why instead of leaving an opaque retry loop.
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise EventShapeError(f"record {index} has no {key}; it could not be acknowledged")
    return value


# -- JSON -----------------------------------------------------------------------------------


class NotJsonError(ValueError):
    """Text that is not strict JSON."""


def _reject_constant(name: str) -> Any:
    raise NotJsonError(f"{name} is not valid JSON")


def parse_json(data: str | bytes) -> Any:
    """Strict JSON: NaN and Infinity are refused (the stdlib accepts them by default)."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise NotJsonError("JSON nested too deeply") from None
    except NotJsonError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise NotJsonError(str(exc)) from None


def parse_json_or_text(text: str) -> Any:
    """The JSON value of ``text``, or ``text`` itself when it is not JSON."""
    try:
        return parse_json(text)
    except NotJsonError:
        return text


# -- EventBridge ------------------------------------------------------------------------------


def eventbridge_event(event: Mapping[str, Any]) -> Any:
    """The canonical event: EventBridge puts the payload under ``detail``."""
    return event["detail"]


# -- API Gateway ----------------------------------------------------------------------------


class BadRequestError(ValueError):
    """An API Gateway request body that cannot hold events (answered with 400)."""


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an API Gateway request the entry point reads."""

    method: str
    body: Any  # a string from API Gateway; None (or anything else) when there is no usable body
    is_base64: bool = False

    def data(self) -> bytes:
        """The body's bytes as the client sent them (base64 decoded)."""
        if not self.body:
            raise BadRequestError("the request body is empty")
        if not isinstance(self.body, str):
            raise BadRequestError(f"the request body must be text, got {type(self.body).__name__}")
        if not self.is_base64:
            # surrogatepass: json.loads decodes bytes the same way, so nothing is lost in between.
            return self.body.encode("utf-8", "surrogatepass")
        try:
            return base64.b64decode(self.body, validate=True)
        except binascii.Error as exc:
            raise BadRequestError(f"the request body is flagged base64 but is not: {exc}") from None


def http_request(event: Mapping[str, Any], source: EventSource) -> HttpRequest:
    """Method and body of a REST API (v1) or HTTP API (v2) event."""
    if source is EventSource.API_GATEWAY_V2:
        method = event["requestContext"]["http"].get("method")
    else:
        method = event.get("httpMethod")
    return HttpRequest(
        str(method or "").upper(), event.get("body"), bool(event.get("isBase64Encoded"))
    )


def body_events(data: bytes) -> list[Any]:
    """The events in a request body: one object, an array, or ``{"events": [...]}``."""
    try:
        value = parse_json(data)
    except NotJsonError as exc:
        raise BadRequestError(f"the request body is not valid JSON: {exc}") from None
    if isinstance(value, Mapping) and value.keys() == {"events"}:
        value = value["events"]
        if not isinstance(value, list):
            raise BadRequestError('"events" must be an array of events')
    if isinstance(value, list):
        if not value:
            raise BadRequestError("the request holds no events")
        return value
    if isinstance(value, Mapping):
        return [value]
    raise BadRequestError(
        f"the body must be a JSON object (one event) or array (a batch), got {_json_type(value)}"
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"
