"""Delivered-event dedupe: an event already delivered to a vendor is not sent again.

``store.claim(delivery.idempotency_key)`` before sending; ``claim.complete()``
after the vendor accepted it, ``claim.release()`` when the attempt failed.
Backends: memory, SQLite (the embedded default) and DynamoDB, imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from martech_bus.idempotency.base import (
    DEFAULT_LEASE,
    DEFAULT_TTL,
    Claim,
    Clock,
    Entry,
    IdempotencyKeyError,
    IdempotencyStore,
    Status,
    StoreOptions,
)
from martech_bus.idempotency.memory import MemoryIdempotencyStore

if TYPE_CHECKING:
    from martech_bus.idempotency.dynamodb import DynamoDbIdempotencyStore
    from martech_bus.idempotency.sqlite import SqliteIdempotencyStore

_LAZY = {
    "SqliteIdempotencyStore": "martech_bus.idempotency.sqlite",
    "DynamoDbIdempotencyStore": "martech_bus.idempotency.dynamodb",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'martech_bus.idempotency' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "Claim",
    "Clock",
    "DynamoDbIdempotencyStore",
    "Entry",
    "IdempotencyKeyError",
    "IdempotencyStore",
    "MemoryIdempotencyStore",
    "SqliteIdempotencyStore",
    "Status",
    "StoreOptions",
]
