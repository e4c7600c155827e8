"""Delivered-event dedupe: an event already delivered to a vendor is not sent again.

``store.claim(delivery.idempotency_key)`` before sending; ``claim.complete()``
after the vendor accepted it, ``claim.release()`` when the attempt failed.
Backends: memory, SQLite (the embedded default) and DynamoDB, imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr
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


__getattr__ = lazy_getattr(__name__, _LAZY)


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
