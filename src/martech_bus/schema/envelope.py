"""The canonical envelope every event schema embeds (CloudEvents-aligned).

Each ``schemas/<event>/v<N>.avsc`` is self-contained (it is exactly what a
Confluent-compatible registry receives), so the envelope is written out in
every file; a test checks each file embeds exactly these fields, and
``martech-bus new event`` scaffolds new schemas from them.
"""

from __future__ import annotations

from typing import Any, Final

NAMESPACE: Final = "martech.events"

#: Envelope field names in their schema order; ``properties`` always comes last.
ENVELOPE_FIELD_NAMES: Final = (
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "received_at",
    "source",
    "user_id",
    "anonymous_id",
    "consent",
    "context",
    "traceparent",
)

#: At least one of these must be a non-empty string (enforced by validation).
IDENTITY_FIELDS: Final = ("user_id", "anonymous_id")


def _optional(name: str, doc: str, **attrs: Any) -> dict[str, Any]:
    return {"name": name, "type": ["null", "string"], "default": None, "doc": doc, **attrs}


def _context_schema() -> dict[str, Any]:
    page = {
        "type": "record",
        "name": "Page",
        "namespace": NAMESPACE,
        "fields": [
            _optional("url", "Full page URL."),
            _optional("referrer", "Referring URL."),
            _optional("title", "Document title."),
        ],
    }
    campaign = {
        "type": "record",
        "name": "Campaign",
        "namespace": NAMESPACE,
        "fields": [
            _optional("utm_source", "utm_source."),
            _optional("utm_medium", "utm_medium."),
            _optional("utm_campaign", "utm_campaign."),
            _optional("utm_term", "utm_term."),
            _optional("utm_content", "utm_content."),
        ],
    }
    device = {
        "type": "record",
        "name": "Device",
        "namespace": NAMESPACE,
        "fields": [
            _optional("type", "mobile, tablet, desktop, server, ..."),
            _optional("os", "Operating system name and version."),
            _optional("model", "Device model."),
            _optional("id", "Advertising or device id.", pii="device_id"),
        ],
    }
    return {
        "type": "record",
        "name": "Context",
        "namespace": NAMESPACE,
        "fields": [
            _optional("ip", "Client IP address.", pii="ip"),
            _optional("user_agent", "Client user agent."),
            _optional("locale", "BCP 47 locale, e.g. en-US."),
            {"name": "page", "type": ["null", page], "default": None},
            {"name": "campaign", "type": ["null", campaign], "default": None},
            {"name": "device", "type": ["null", device], "default": None},
        ],
    }


def envelope_fields() -> list[dict[str, Any]]:
    """A fresh copy of the envelope's Avro field definitions, in order."""
    timestamp = {"type": "long", "logicalType": "timestamp-millis"}
    return [
        {
            "name": "event_id",
            "type": {"type": "string", "logicalType": "uuid"},
            "doc": "Unique id of this event (UUID); the dedupe key everywhere.",
        },
        {
            "name": "event_type",
            "type": "string",
            "doc": "The catalogue name, e.g. order_completed.",
        },
        {"name": "schema_version", "type": "int", "doc": "The catalogue version written."},
        {"name": "occurred_at", "type": dict(timestamp), "doc": "When it happened (UTC)."},
        {"name": "received_at", "type": dict(timestamp), "doc": "When martech-bus got it (UTC)."},
        {"name": "source", "type": "string", "doc": "Who produced it, e.g. web, shopify, crm."},
        _optional("user_id", "Known user id.", pii="user_id"),
        _optional("anonymous_id", "Anonymous/device id when the user is unknown.", pii="device_id"),
        {
            "name": "consent",
            "type": {"type": "map", "values": "boolean"},
            "default": {},
            "doc": "Consent per purpose (e.g. marketing, analytics): true = granted.",
        },
        {"name": "context", "type": _context_schema(), "doc": "Where and how it happened."},
        _optional("traceparent", "W3C trace context, when the producer had one."),
    ]
