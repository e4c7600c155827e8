"""Test helpers: the catalogue, valid events per schema, and datum strategies from a schema."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from martech_bus.schema.avro import PRIMITIVES, full_name
from martech_bus.schema.iso4217 import MINOR_UNITS
from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
SCHEMAS = REPO_ROOT / "schemas"
EVENT_ID = "6f1c1d3e-8a4b-4c2d-9e0f-1a2b3c4d5e6f"
OCCURRED = datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=UTC)
RECEIVED = datetime(2024, 5, 17, 9, 30, 13, tzinfo=UTC)


@cache
def catalogue() -> SchemaRegistry:
    """The repository's schema catalogue (loaded once per test session)."""
    return SchemaRegistry.load(SCHEMAS)


def order_completed_json(**overrides: Any) -> dict[str, Any]:
    """A realistic order_completed v2 event as a JSON client would send it."""
    event: dict[str, Any] = {
        "event_id": EVENT_ID,
        "event_type": "order_completed",
        "schema_version": 2,
        "occurred_at": "2024-05-17T09:30:12.345Z",
        "received_at": "2024-05-17T11:30:13+02:00",
        "source": "shopify",
        "user_id": "user-42",
        "consent": {"marketing": True, "analytics": False},
        "context": {
            "ip": "203.0.113.9",
            "locale": "de-DE",
            "page": {"url": "https://shop.example/checkout/done", "title": "Thanks"},
            "campaign": {"utm_source": "newsletter", "utm_medium": "email"},
        },
        "properties": {
            "order_id": "A-1001",
            "total": "59.97",
            "tax": 9.57,
            "shipping": 4,
            "currency": "EUR",
            "coupon": "SPRING",
            "email": "ada@example.com",
            "shipping_method": "express",
            "products": [
                {"product_id": "p-1", "name": "Mug", "price": "12.99", "quantity": 2},
                {"product_id": "p-2", "name": "Tea", "price": Decimal("33.99"), "quantity": 1},
            ],
        },
    }
    event.update(overrides)
    return event


def sample_event(entry: RegisteredSchema) -> dict[str, Any]:
    """A minimal valid event in datum form for any catalogue entry (required fields only)."""
    event = _sample(entry.schema, None, {}, None)
    assert isinstance(event, dict)
    event.update(
        event_id=EVENT_ID,
        event_type=entry.subject,
        schema_version=entry.version,
        occurred_at=OCCURRED,
        received_at=RECEIVED,
        user_id="user-1",
    )
    return event


def _sample(schema: Any, namespace: str | None, named: dict[str, Any], fmt: str | None) -> Any:
    if isinstance(schema, list):
        branch = next(b for b in schema if b != "null")
        return _sample(branch, namespace, named, fmt)
    if isinstance(schema, str):
        if schema not in PRIMITIVES:
            return _sample(named[full_name(schema, namespace)], namespace, named, fmt)
        return {
            "null": None,
            "boolean": True,
            "int": 3,
            "long": 4,
            "float": 1.5,
            "double": 2.5,
            "bytes": b"\x01",
            "string": "EUR" if fmt == "iso4217" else "text",
        }[schema]
    kind, logical = schema["type"], schema.get("logicalType")
    if kind in ("record", "enum", "fixed"):
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        named[qualified] = schema
        namespace = qualified.rpartition(".")[0] or None
    if logical == "decimal":
        return Decimal(1).scaleb(-schema.get("scale", 0)) * 1999
    if logical == "uuid":
        return EVENT_ID
    if logical == "timestamp-millis":
        return OCCURRED
    if kind == "record":
        return {
            f["name"]: copy.deepcopy(f["default"])  # never hand out the schema's own objects
            if "default" in f
            else _sample(f["type"], namespace, named, f.get("format"))
            for f in schema["fields"]
        }
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return bytes(schema["size"])
    if kind == "array":
        return [_sample(schema["items"], namespace, named, None)]
    if kind == "map":
        return {"key": _sample(schema["values"], namespace, named, None)}
    return _sample(kind, namespace, named, schema.get("format", fmt))


# -- hypothesis: arbitrary datum-form values for a schema --------------------------------

_TEXT = st.text(st.sampled_from("az09 _-é✓€😀"), max_size=8)  # ASCII and 2-4 byte UTF-8
_MILLIS = st.integers(-(2**41), 2**41).map(  # about +-70 years around the epoch
    lambda ms: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
)


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    bound = 10**precision - 1
    return st.integers(-bound, bound).map(lambda n: Decimal(n).scaleb(-scale))


Named = dict[str, st.SearchStrategy[Any]]
_STRATEGIES: dict[tuple[str, int], st.SearchStrategy[dict[str, Any]]] = {}


def datum_strategy(entry: RegisteredSchema) -> st.SearchStrategy[dict[str, Any]]:
    """Arbitrary datum-form events for ``entry`` (built once per schema: building is slow)."""
    key = (entry.subject, entry.version)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _strategy(entry.schema, None, {}, None)
    return _STRATEGIES[key]


def _strategy(
    schema: Any, namespace: str | None, named: Named, fmt: str | None
) -> st.SearchStrategy[Any]:
    if isinstance(schema, list):
        return st.one_of([_strategy(b, namespace, named, fmt) for b in schema])
    if isinstance(schema, str):
        if schema not in PRIMITIVES:
            return named[full_name(schema, namespace)]
        return _primitive(schema, fmt)
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "decimal":
        return _decimals(schema["precision"], schema.get("scale", 0))
    if logical == "uuid":
        return st.uuids().map(str)
    if logical == "timestamp-millis":
        return _MILLIS
    if kind == "record":
        return _record(schema, namespace, named)
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "array":
        return st.lists(_strategy(schema["items"], namespace, named, None), max_size=3)
    if kind == "map":
        values = _strategy(schema["values"], namespace, named, None)
        return st.dictionaries(_TEXT, values, max_size=3)
    return _strategy(kind, namespace, named, schema.get("format", fmt))


def _record(
    schema: Mapping[str, Any], namespace: str | None, named: Named
) -> st.SearchStrategy[dict[str, Any]]:
    qualified = full_name(schema["name"], schema.get("namespace", namespace))
    inner = qualified.rpartition(".")[0] or None
    named[qualified] = st.deferred(lambda: strategy)
    strategy = st.fixed_dictionaries(
        {f["name"]: _strategy(f["type"], inner, named, f.get("format")) for f in schema["fields"]}
    )
    named[qualified] = strategy
    return strategy


_PRIMITIVE_STRATEGIES: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "null": lambda: st.none(),
    "boolean": st.booleans,
    "int": lambda: st.integers(-(2**31), 2**31 - 1),
    "long": lambda: st.integers(-(2**63), 2**63 - 1),
    "float": lambda: st.floats(width=32, allow_nan=False, allow_infinity=False),
    "double": lambda: st.floats(allow_nan=False, allow_infinity=False),
    "bytes": lambda: st.binary(max_size=8),
    "string": lambda: _TEXT,
}


def _primitive(name: str, fmt: str | None) -> st.SearchStrategy[Any]:
    if name == "string" and fmt == "iso4217":
        return st.sampled_from(sorted(MINOR_UNITS))
    return _PRIMITIVE_STRATEGIES[name]()
