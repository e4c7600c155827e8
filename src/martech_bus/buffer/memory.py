"""In-memory buffer: one process, thread-safe, lost on exit; for tests and local runs."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Unpack

from martech_bus.buffer.base import BufferRecord, BufferStore, Held, Lease, StoreOptions, Taken


@dataclass(slots=True)
class _Slot:
    record: BufferRecord
    visible_at: float  # claimable when visible_at <= now
    token: str | None = None  # the current lease holder, if any


class MemoryBufferStore(BufferStore):
    """Records in an insertion-ordered dict behind a lock: each hook call is atomic."""

    shares_commits = True  # append_each: under the lock once

    def __init__(self, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self._slots: dict[str, _Slot] = {}  # insertion order = FIFO order
        self._lock = threading.Lock()

    def _append(self, records: Sequence[BufferRecord]) -> None:
        with self._lock:
            for record in records:
                if record.id not in self._slots:
                    self._slots[record.id] = _Slot(record, float("-inf"))

    def _claim(self, limit: int, lease: Lease) -> list[Taken]:
        taken: list[Taken] = []
        with self._lock:
            for slot in self._slots.values():
                if slot.visible_at <= lease.now:
                    slot.record = dataclasses.replace(
                        slot.record, attempts=slot.record.attempts + 1
                    )
                    slot.visible_at, slot.token = lease.until, lease.token
                    taken.append(Taken(slot.record, lease.token))
                    if len(taken) == limit:
                        break
        return taken

    def _ack(self, held: Sequence[Held]) -> set[str]:
        acked = set()
        with self._lock:
            for record_id, token in held:
                slot = self._slots.get(record_id)
                if slot is not None and slot.token == token:
                    del self._slots[record_id]
                    acked.add(record_id)
        return acked

    def _set_visibility(
        self, held: Sequence[Held], now: float, seconds: float, *, keep: bool
    ) -> set[str]:
        changed = set()
        with self._lock:
            for record_id, token in held:
                slot = self._slots.get(record_id)
                if slot is not None and slot.token == token:
                    slot.visible_at = now + seconds
                    if not keep:
                        slot.token = None
                    changed.add(record_id)
        return changed

    def _depth(self) -> int:
        with self._lock:
            return len(self._slots)

    def _oldest_received_at(self) -> float | None:
        with self._lock:
            head = next(iter(self._slots.values()), None)
        return None if head is None else head.record.received_at
