"""Kafka record headers: CloudEvents binary mode, plus where the value's schema comes from.

CloudEvents Kafka binding, binary content mode: the record value is the event
data as-is, the attributes are ``ce_``-prefixed headers and ``content-type`` is
``datacontenttype``. martech-bus writes:

| header | value |
| --- | --- |
| ``ce_specversion`` | ``1.0`` |
| ``ce_id`` | the event's ``event_id`` |
| ``ce_source`` | ``/martech/`` + the event's ``source`` (``cloudevents.source_prefix``), percent-encoded |
| ``ce_type`` | ``martech.`` + the event type, e.g. ``martech.order_completed`` |
| ``ce_time`` | ``occurred_at`` in RFC 3339, UTC, ``Z`` |
| ``content-type`` | ``application/avro``; the value is Confluent-framed (magic byte, schema id, body) |
| ``martech_schema_subject`` / ``martech_schema_version`` | the catalogue subject and version written |
| ``martech_schema_fingerprint`` | SHA-256 (hex) of the schema's Parsing Canonical Form |
| ``martech_integration`` / ``martech_mapping_version`` | when the caller names them |
| ``traceparent`` | W3C trace context, when the event carries one |

``ce_id`` + ``ce_source`` is unique per event; consumers dedupe by ``ce_id``
(= ``event_id``). The header values are UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

SPEC_VERSION: Final = "1.0"
#: The record value is Avro; the Confluent frame around it is what every Confluent
#: deserializer expects, and its schema id resolves in the configured registry.
CONTENT_TYPE: Final = "application/avro"

CE_ID: Final = "ce_id"
CE_SOURCE: Final = "ce_source"
CE_TYPE: Final = "ce_type"
CE_SPECVERSION: Final = "ce_specversion"
CE_TIME: Final = "ce_time"
CONTENT_TYPE_HEADER: Final = "content-type"
SCHEMA_SUBJECT: Final = "martech_schema_subject"
SCHEMA_VERSION: Final = "martech_schema_version"
SCHEMA_FINGERPRINT: Final = "martech_schema_fingerprint"
INTEGRATION: Final = "martech_integration"
MAPPING_VERSION: Final = "martech_mapping_version"
TRACEPARENT: Final = "traceparent"

Headers = list[tuple[str, bytes]]
_SOURCE_CACHE_LIMIT: Final = 4096
#: Text that ``rfc3339`` writes unchanged for the moment ``datetime.fromisoformat`` reads
#: from it: extended format, UTC "Z", exactly milliseconds, hours 00-23.
_RFC3339_MILLIS: Final = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"
)


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with a ``Z``: milliseconds, or microseconds if needed."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    # An aware UTC datetime ends in "+00:00": swap it for "Z" (cheaper than a naive copy).
    return utc.isoformat(timespec=spec)[:-6] + "Z"


class HeaderBuilder:
    """Builds the headers of one schema version's records; the constant part is built once."""

    __slots__ = ("_canonical", "_source_headers", "_source_prefix", "_sources", "constant")

    def __init__(
        self,
        *,
        event_type: str,
        subject: str,
        version: int,
        fingerprint: str,
        source_prefix: str = "/martech/",
        type_prefix: str = "martech.",
        integration: str | None = None,
        mapping_version: int | None = None,
    ) -> None:
        constant: Headers = [
            (CE_SPECVERSION, SPEC_VERSION.encode()),
            (CE_TYPE, f"{type_prefix}{event_type}".encode()),
            (CONTENT_TYPE_HEADER, CONTENT_TYPE.encode()),
            (SCHEMA_SUBJECT, subject.encode()),
            (SCHEMA_VERSION, str(version).encode()),
            (SCHEMA_FINGERPRINT, fingerprint.encode()),
        ]
        if integration is not None:
            constant.append((INTEGRATION, integration.encode()))
        if mapping_version is not None:
            constant.append((MAPPING_VERSION, str(mapping_version).encode()))
        self.constant: tuple[tuple[str, bytes], ...] = tuple(constant)
        self._source_prefix = source_prefix
        self._sources: dict[str, bytes] = {}
        self._source_headers: dict[str, tuple[str, bytes]] = {}  # the same, as header pairs
        self._canonical: Callable[[str], object] = re.compile(_RFC3339_MILLIS).match

    def source(self, source: str) -> bytes:
        """``ce_source`` for an event ``source`` (few distinct values: cached)."""
        cached = self._sources.get(source)
        if cached is None:
            cached = f"{self._source_prefix}{quote(source, safe='')}".encode()
            if len(self._sources) < _SOURCE_CACHE_LIMIT:
                self._sources[source] = cached
        return cached

    def build(self, datum: Mapping[str, Any]) -> Headers:
        """The headers of one validated event (datum form)."""
        return list(
            self.make(
                datum["event_id"], datum["source"], datum["occurred_at"], datum.get("traceparent")
            )
        )

    def make(
        self,
        event_id: str,
        source: str,
        occurred_at: datetime,
        traceparent: str | None = None,
        occurred_text: object = None,
    ) -> tuple[tuple[str, bytes], ...]:
        """``build`` from the datum values themselves, as a tuple.

        ``occurred_text`` is the value ``occurred_at`` was validated from (the event's
        ``occurred_at`` as received). When it is already what ``rfc3339`` writes for
        that moment (the common case) it is used as is: formatting the datetime costs
        several times more than checking the text. A tuple of (str, bytes) tuples holds
        no mutable container, so the garbage collector stops tracking it (a publisher
        keeps the headers of every message in flight).
        """
        pairs = self._source_headers
        source_header = pairs.get(source)
        if source_header is None:
            source_header = (CE_SOURCE, self.source(source))
            if len(pairs) < _SOURCE_CACHE_LIMIT:
                pairs[source] = source_header
        if type(occurred_text) is str and self._canonical(occurred_text) is not None:
            time = occurred_text.encode()
        else:
            time = rfc3339(occurred_at).encode()
        if traceparent:
            return (
                (CE_ID, event_id.encode()),
                source_header,
                (CE_TIME, time),
                *self.constant,
                (TRACEPARENT, traceparent.encode()),
            )
        return (
            (CE_ID, event_id.encode()),
            source_header,
            (CE_TIME, time),
            *self.constant,
        )


def header_dict(headers: Iterable[tuple[str, bytes | None]] | None) -> dict[str, str]:
    """Headers as ``{name: text}`` (undecodable bytes shown with replacement characters)."""
    return {
        name: value.decode("utf-8", "replace") if value is not None else ""
        for name, value in (headers or ())
    }


__all__ = [
    "CE_ID",
    "CE_SOURCE",
    "CE_SPECVERSION",
    "CE_TIME",
    "CE_TYPE",
    "CONTENT_TYPE",
    "CONTENT_TYPE_HEADER",
    "INTEGRATION",
    "MAPPING_VERSION",
    "SCHEMA_FINGERPRINT",
    "SCHEMA_SUBJECT",
    "SCHEMA_VERSION",
    "SPEC_VERSION",
    "TRACEPARENT",
    "HeaderBuilder",
    "Headers",
    "header_dict",
    "rfc3339",
]
