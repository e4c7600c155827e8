"""Helpers for the mapping language tests: a canonical event and a way to compile inline YAML."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from martech_bus.errors import MappingError, Problem
from martech_bus.mapping.compiler import CompiledMapping, compile_mapping
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.registry import TransformRegistry

HEADER = "mapping_version: 7\nsource: {event: order_completed, versions: [1, 2]}\n"

Compile = Callable[..., CompiledMapping]


def mapping_text(output: str, *, lookups: str = "", extra: str = "") -> str:
    """A complete mapping file around an ``output:`` body written at column 0."""
    body = textwrap.indent(textwrap.dedent(output).strip("\n"), "  ")
    return HEADER + textwrap.dedent(lookups) + textwrap.dedent(extra) + "output:\n" + body + "\n"


def build(
    output: str,
    *,
    lookups: str = "",
    extra: str = "",
    registry: TransformRegistry | None = None,
    file: str = "m.yaml",
) -> CompiledMapping:
    spec = parse_mapping(
        mapping_text(output, lookups=lookups, extra=extra), file=file, registry=registry
    )
    return compile_mapping(spec, registry=registry)


def problems_of(error: MappingError) -> list[Problem]:
    """Every problem an error reports (a single one is the error itself)."""
    return error.problems or [Problem(error.message, error.location)]


def order_event(**overrides: Any) -> dict[str, Any]:
    """A valid order_completed v1 event in datum form."""
    event: dict[str, Any] = {
        "event_id": "0b7e9a4c-1f2d-4c3b-9a8e-5d6f7a8b9c0d",
        "event_type": "order_completed",
        "schema_version": 1,
        "occurred_at": datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC),
        "received_at": datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC),
        "source": "web",
        "user_id": "u-42",
        "anonymous_id": None,
        "consent": {"marketing": True, "analytics": False},
        "context": {
            "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0",
            "locale": "en-US",
            "page": {"url": "https://shop.example/checkout", "referrer": None, "title": "Checkout"},
            "campaign": {
                "utm_source": "news",
                "utm_medium": None,
                "utm_campaign": "spring",
                "utm_term": None,
                "utm_content": None,
            },
            "device": None,
        },
        "traceparent": None,
        "properties": {
            "order_id": "ORD-1001",
            "checkout_id": None,
            "total": Decimal("59.9000"),
            "subtotal": Decimal("54.9000"),
            "revenue": None,
            "tax": Decimal("5.0000"),
            "shipping": None,
            "discount": None,
            "currency": "EUR",
            "coupon": None,
            "affiliation": None,
            "payment_method": "card",
            "email": "  Jane.Doe@Example.COM ",
            "phone": "+49 (30) 1234-5678",
            "products": [
                {
                    "product_id": "p-1",
                    "sku": "SKU-1",
                    "name": "Mug",
                    "category": None,
                    "brand": None,
                    "variant": None,
                    "price": Decimal("12.5000"),
                    "quantity": 2,
                    "coupon": None,
                    "url": None,
                    "image_url": None,
                },
                {
                    "product_id": "p-2",
                    "sku": None,
                    "name": "Tea",
                    "category": "food",
                    "brand": None,
                    "variant": None,
                    "price": Decimal("29.9000"),
                    "quantity": 1,
                    "coupon": None,
                    "url": None,
                    "image_url": None,
                },
            ],
        },
    }
    event.update(overrides)
    return event
