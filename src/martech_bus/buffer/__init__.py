"""The gateway's durable buffer: ``append`` (durable on return), ``claim`` with a lease, ``ack``.

Backends: memory, SQLite (the embedded default, with group commit) and SQS,
imported on first use; ``buffer_store()`` picks one from ``MARTECH_BUS_BUFFER``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr
from martech_bus.buffer.base import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_VISIBILITY_TIMEOUT,
    AppendTimeoutError,
    BufferRecord,
    BufferStore,
    Claimed,
    Clock,
    Incoming,
    InvalidRecordError,
    StoreOptions,
)

if TYPE_CHECKING:
    from martech_bus.buffer.memory import MemoryBufferStore
    from martech_bus.buffer.select import buffer_store
    from martech_bus.buffer.sqlite import SqliteBufferStore
    from martech_bus.buffer.sqs import SqsBufferStore

_LAZY = {
    "MemoryBufferStore": "martech_bus.buffer.memory",
    "SqliteBufferStore": "martech_bus.buffer.sqlite",
    "SqsBufferStore": "martech_bus.buffer.sqs",
    "buffer_store": "martech_bus.buffer.select",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_VISIBILITY_TIMEOUT",
    "AppendTimeoutError",
    "BufferRecord",
    "BufferStore",
    "Claimed",
    "Clock",
    "Incoming",
    "InvalidRecordError",
    "MemoryBufferStore",
    "SqliteBufferStore",
    "SqsBufferStore",
    "StoreOptions",
    "buffer_store",
]
