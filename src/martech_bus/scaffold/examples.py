"""Example canonical events written from a schema, for scaffolded fixtures.

``example_event(registry, "order_completed")`` is a valid event (JSON form) with
every optional field filled; ``minimal=True`` leaves out everything optional and
identifies the user only by ``anonymous_id``. Values are plausible rather than
random (``"EUR"`` for a currency, an address for an email field), so fixtures
read like real events, and fixed, so the expected bodies never change.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from martech_bus.schema.registry import SchemaRegistry

OCCURRED_AT: Final = "2026-11-20T14:03:11.250Z"
RECEIVED_AT: Final = "2026-11-20T14:03:11.900Z"
#: Example text by PII tag (REFERENCE.md's hashing rules get something real to work on).
_BY_PII: Final[Mapping[str, str]] = {
    "email": "Jane.Doe@Example.com",
    "phone": "+49 170 1234567",
    "name": "Jane Doe",
    "address": "Hauptstrasse 1, 10115 Berlin",
    "ip": "203.0.113.7",
    "user_id": "u-1842",
    "device_id": "d-5e1a",
}
#: Amounts by field name, so an example order adds up the way a real one does.
_MONEY: Final[Mapping[str, str]] = {
    "total": "64.85",
    "subtotal": "59.90",
    "revenue": "50.34",
    "tax": "9.56",
    "shipping": "4.95",
    "discount": "0.00",
    "price": "29.95",
}
_FULL_CONTEXT: Final = {
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2)",
    "locale": "de-DE",
    "page": {"url": "https://shop.example/checkout/done", "referrer": "https://shop.example/cart"},
    "campaign": {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "launch"},
    "device": {"type": "desktop", "os": "macOS 14.2"},
}


def example_event(
    registry: SchemaRegistry, subject: str, version: int | None = None, *, minimal: bool = False
) -> dict[str, Any]:
    """A valid ``subject`` event (JSON form): every field filled, or only what is required."""
    from martech_bus.schema.validate import validate_event

    entry = registry.get(subject, version)
    variant = "minimal" if minimal else "full"
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"martech-bus:{subject}:{variant}")),
        "event_type": subject,
        "schema_version": entry.version,
        "occurred_at": OCCURRED_AT,
        "received_at": RECEIVED_AT,
        "source": "web",
        "anonymous_id": "a-77d1f0",
        "consent": {"marketing": True, "analytics": True},
        "context": {} if minimal else dict(_FULL_CONTEXT),
    }
    if not minimal:
        event["user_id"] = "u-1842"
    properties = next(f for f in entry.schema["fields"] if f["name"] == "properties")
    event["properties"] = _value(properties["type"], "properties", None, minimal, _Names(entry))
    validate_event(registry, event)  # an example that fails validation is a bug here, not data
    return event


class _Names:
    """Named types (records, enums) seen so far, so a reference by name resolves."""

    def __init__(self, entry: Any) -> None:
        self.namespace = entry.schema.get("namespace")
        self.types: dict[str, Any] = {}

    def remember(self, schema: Mapping[str, Any]) -> None:
        name = str(schema["name"])
        namespace = schema.get("namespace", self.namespace)
        self.types[name] = schema
        if namespace and "." not in name:
            self.types[f"{namespace}.{name}"] = schema

    def resolve(self, name: str) -> Any:
        return self.types.get(name) or self.types.get(f"{self.namespace}.{name}")


def _value(schema: Any, name: str, pii: str | None, minimal: bool, names: _Names) -> Any:
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        if not branches or (minimal and "null" in schema):
            return None
        return _value(branches[0], name, pii, minimal, names)
    if isinstance(schema, str):
        known = names.resolve(schema)
        return (
            _primitive(schema, name, pii)
            if known is None
            else _value(known, name, pii, minimal, names)
        )
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if kind == "record":
        names.remember(schema)
        record = {}
        for field in schema["fields"]:
            if minimal and "default" in field:
                continue
            value = _value(field["type"], field["name"], field.get("pii"), minimal, names)
            if field.get("format") == "iso4217" and isinstance(value, str):
                value = "EUR"
            record[field["name"]] = value
        return record
    if kind == "enum":
        names.remember(schema)
        return schema["symbols"][0]
    if kind == "array":
        return [_value(schema["items"], name, pii, minimal, names)]
    if kind == "map":
        return {"key": _value(schema["values"], name, pii, minimal, names)}
    if logical == "decimal":
        return _MONEY.get(name, "19.99")
    if logical == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"martech-bus:{name}"))
    if logical in ("timestamp-millis", "timestamp-micros"):
        return OCCURRED_AT
    if logical == "date":
        return OCCURRED_AT[:10]
    if isinstance(kind, str):
        value = _primitive(kind, name, pii)
        return "EUR" if schema.get("format") == "iso4217" else value
    raise ValueError(f"cannot write an example for the Avro type {schema!r}")


def _primitive(kind: str, name: str, pii: str | None) -> Any:
    if kind == "string":
        if pii is not None and pii in _BY_PII:
            return _BY_PII[pii]
        if name.endswith("url"):
            return f"https://shop.example/{name.removesuffix('url').strip('_') or 'page'}"
        if name.endswith("_id") or name == "id":
            return f"{name.removesuffix('id').strip('_') or 'id'}-1001"
        return f"example {name.replace('_', ' ')}"
    if kind in ("int", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "bytes":
        return ""
    raise ValueError(f"cannot write an example for the Avro type {kind!r}")


__all__ = ["OCCURRED_AT", "RECEIVED_AT", "example_event"]
