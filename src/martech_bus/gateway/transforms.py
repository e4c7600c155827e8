"""Transforms only inbound mappings need, in a registry of their own.

Inbound mappings (vendor payload -> canonical event) use the built-in transforms
plus ``stable_uuid``: canonical events need a UUID ``event_id``, vendors give
ids of their own (Segment's ``messageId``, a Shopify order id). Deriving the UUID
from the vendor's id, always the same way, keeps a vendor's retry of the same
webhook the same event, which downstream dedupe relies on. Outbound mappings
never see these names.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Final

from martech_bus.mapping.registry import TransformRegistry
from martech_bus.mapping.transforms import new_registry

#: uuid5(NAMESPACE_URL, "https://martech-bus.dev/gateway"): the namespace of every derived id.
NAMESPACE: Final = uuid.UUID("6e6e2caa-62bd-5dba-88bb-31a1ecd365dc")


def stable_uuid(value: Any, scope: str) -> str:
    """A UUID derived from ``scope`` and the value's text: the same input, the same UUID."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"expects text or an integer id, got {type(value).__name__}")
    text = str(value)
    if not text.strip():
        raise ValueError("cannot derive an id from an empty value")
    return str(uuid.uuid5(NAMESPACE, f"{scope}:{text}"))


def _prepare_scope(args: dict[str, Any], lookups: Any) -> dict[str, Any]:
    scope = args["scope"]
    if not isinstance(scope, str) or not scope:
        raise ValueError("scope must be non-empty text (e.g. the source name)")
    return args


def inbound_registry() -> TransformRegistry:
    """The built-in transforms plus the inbound ones."""
    registry = new_registry()
    registry.register("stable_uuid", stable_uuid, constant=("scope",), prepare=_prepare_scope)
    return registry


#: The registry inbound mappings are checked and compiled with.
INBOUND: Final = inbound_registry()

__all__ = ["INBOUND", "NAMESPACE", "inbound_registry", "stable_uuid"]
