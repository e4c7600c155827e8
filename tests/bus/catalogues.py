"""A synthetic catalogue with a breaking change, written to a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from martech_bus.schema.envelope import envelope_fields
from tests.schema.catalogue import write_catalogue


def event_schema(name: str, *properties: dict[str, Any]) -> dict[str, Any]:
    """A canonical event schema: the envelope plus a ``properties`` record."""
    return {
        "type": "record",
        "name": name,
        "namespace": "martech.events",
        "fields": [
            *envelope_fields(),
            {
                "name": "properties",
                "type": {"type": "record", "name": f"{name}Properties", "fields": list(properties)},
            },
        ],
    }


SIZE_STRING = {"name": "size", "type": "string"}
SIZE_INT = {"name": "size", "type": "int"}  # string -> int: old data cannot be read
COLOUR = {"name": "colour", "type": ["null", "string"], "default": None}


def widget_catalogue(root: Path) -> Path:
    """``widget_made`` v1, v2 (adds an optional field), v3 (breaking), v4 (v3 + optional field)."""
    return write_catalogue(
        root,
        {
            "widget_made": [
                event_schema("WidgetMade", SIZE_STRING),
                event_schema("WidgetMade", SIZE_STRING, COLOUR),
                event_schema("WidgetMade", SIZE_INT),
                event_schema("WidgetMade", SIZE_INT, COLOUR),
            ]
        },
        widget_made="NONE",
    )


def widget_event(version: int, **fields: Any) -> dict[str, Any]:
    """A valid ``widget_made`` event of ``version``."""
    import uuid

    size: Any = "XL" if version < 3 else 42
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "widget_made",
        "schema_version": version,
        "occurred_at": "2026-01-02T03:04:05.678Z",
        "source": "factory",
        "user_id": "u-1",
        "context": {},
        "properties": {"size": size},
    }
    event.update(fields)
    return event
