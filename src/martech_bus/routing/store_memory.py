"""In-memory flag store: tests, and trying things out in one process."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable
from typing import Unpack

from martech_bus.routing.audit import AuditLog, MemoryAuditLog
from martech_bus.routing.flags import Flag
from martech_bus.routing.store import FlagConflictError, FlagStore, StoreOptions


class MemoryFlagStore(FlagStore):
    """Flags in a dict; its audit trail stays in memory too unless one is given."""

    def __init__(self, flags: Iterable[Flag] = (), **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self.name = "memory"
        self._lock = threading.Lock()
        self._flags = {
            flag.integration: dataclasses.replace(flag, version=max(flag.version, 1))
            for flag in flags
        }
        self.reads = 0  # backend reads, so tests can see the cache at work

    def _default_audit(self) -> AuditLog:
        return MemoryAuditLog()

    def _read(self, integration: str) -> Flag | None:
        self.reads += 1
        with self._lock:
            return self._flags.get(integration)

    def _read_all(self) -> list[Flag]:
        self.reads += 1
        with self._lock:
            return list(self._flags.values())

    def _write(self, flag: Flag, expected_version: int) -> Flag:
        with self._lock:
            stored = self._flags.get(flag.integration)
            found = 0 if stored is None else stored.version
            if found != expected_version:
                raise FlagConflictError(
                    f"{flag.integration}: changed concurrently (version {found}, expected "
                    f"{expected_version}); look again and retry"
                )
            saved = dataclasses.replace(flag, version=found + 1)
            self._flags[flag.integration] = saved
            return saved
