"""In-memory idempotency store: one process, thread-safe; for tests and single-process runs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Unpack

from martech_bus.idempotency.base import Entry, IdempotencyStore, Status, StoreOptions


class MemoryIdempotencyStore(IdempotencyStore):
    """Records in a dict behind a lock: each hook call is atomic."""

    def __init__(self, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    def _claim(self, entries: Sequence[Entry], now: float) -> set[str]:
        won = set()
        with self._lock:
            for entry in entries:
                current = self._entries.get(entry.key)
                if current is None or not current.blocks(now):
                    self._entries[entry.key] = entry
                    won.add(entry.key)
        return won

    def _mark_delivered(self, entries: Sequence[Entry]) -> None:
        with self._lock:
            self._entries.update((entry.key, entry) for entry in entries)

    def _release(self, held: Sequence[tuple[str, str]]) -> set[str]:
        released = set()
        with self._lock:
            for key, token in held:
                current = self._entries.get(key)
                if (
                    current is not None
                    and current.status is Status.CLAIMED
                    and current.token == token
                ):
                    del self._entries[key]
                    released.add(key)
        return released

    def _get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        with self._lock:
            return {key: self._entries[key] for key in keys if key in self._entries}

    def _purge(self, now: float) -> int:
        with self._lock:
            expired = [key for key, entry in self._entries.items() if not entry.blocks(now)]
            for key in expired:
                del self._entries[key]
        return len(expired)
