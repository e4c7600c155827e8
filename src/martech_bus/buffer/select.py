"""Choose the buffer from one setting, like ``martech_bus.backends`` does for the other stores.

``MARTECH_BUS_BUFFER``: ``sqlite`` (default, ``<data_dir>/buffer.sqlite3``),
``sqlite:PATH``, ``memory``, ``sqs:QUEUE_URL``. An explicit ``spec`` wins over
the environment.
"""

from __future__ import annotations

from typing import Any, Unpack

from martech_bus.backends import backend_location, choose_backend
from martech_bus.buffer.base import BufferStore, StoreOptions
from martech_bus.config import setting


def buffer_store(
    spec: str | None = None, *, client: Any = None, **options: Unpack[StoreOptions]
) -> BufferStore:
    """The buffer the setting ``MARTECH_BUS_BUFFER`` names; ``client`` is a boto3 SQS client for ``sqs``."""

    def sqlite(where: str | None) -> BufferStore:
        from martech_bus.buffer.sqlite import SqliteBufferStore

        return SqliteBufferStore(where, **options)

    def memory(_: str | None) -> BufferStore:
        from martech_bus.buffer.memory import MemoryBufferStore

        return MemoryBufferStore(**options)

    def sqs(where: str | None) -> BufferStore:
        from martech_bus.buffer.sqs import SqsBufferStore

        return SqsBufferStore(backend_location("sqs", where), client=client, **options)

    value = setting("buffer", spec, "sqlite") or "sqlite"
    store: BufferStore = choose_backend(
        "buffer", value, {"sqlite": sqlite, "memory": memory, "sqs": sqs}
    )
    return store
