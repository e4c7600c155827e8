"""In-memory dead-letter store: one process; keeps the serialized form so it behaves like the others."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from martech_bus.sinks.dlq import DeadLetter, DeadLetterStore, Now, Query


class MemoryDeadLetterStore(DeadLetterStore):
    """Bodies in a dict behind a lock."""

    def __init__(self, *, clock: Now | None = None) -> None:
        super().__init__(clock=clock)
        self._bodies: dict[str, str] = {}
        self._lock = threading.Lock()

    def _insert(self, record: DeadLetter, body: str) -> None:
        with self._lock:
            self._bodies[record.id] = body

    def _scan(self, query: Query) -> Iterable[str]:
        with self._lock:
            return list(self._bodies.values())

    def _read(self, record_id: str) -> str | None:
        with self._lock:
            return self._bodies.get(record_id)

    def _remove(self, record_id: str) -> bool:
        with self._lock:
            return self._bodies.pop(record_id, None) is not None
