"""The flag audit trail: who flipped which integration from what to what, when and why.

The JSON-lines log (``$MARTECH_BUS_DATA_DIR/flag-audit.jsonl``) holds one object
per flip, settings in the compact syntax (``direct``, ``dual:bus:25``)::

    {"id": "…", "at": "2026-11-20T14:03:11Z", "integration": "braze", "who": "ana",
     "action": "set", "from": "direct", "to": "dual", "reason": "…", "version": 2}

A rollback is a flip too, with ``"action": "rollback"`` and ``"undoes": <id>``.
"""

from __future__ import annotations

import json
import os
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from martech_bus.config import Paths
from martech_bus.errors import ConfigError, Location
from martech_bus.routing.flags import Setting, parse_setting

AUDIT_FILE: Final = "flag-audit.jsonl"
SET: Final = "set"
ROLLBACK: Final = "rollback"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded flip."""

    id: str
    at: datetime
    integration: str
    who: str
    action: str  # SET or ROLLBACK
    before: Setting | None  # None: the integration had no flag yet
    after: Setting
    reason: str
    version: int  # the flag's version after the flip
    undoes: str | None = None  # for a rollback: the id of the flip it undid

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "at": self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "integration": self.integration,
            "who": self.who,
            "action": self.action,
            "from": None if self.before is None else self.before.compact(),
            "to": self.after.compact(),
            "reason": self.reason,
            "version": self.version,
        }
        if self.undoes is not None:
            data["undoes"] = self.undoes
        return data

    @classmethod
    def from_dict(cls, data: Any, *, location: Location | None = None) -> AuditEntry:
        """An entry from its JSON object; ConfigError (at ``location``) when it is not one."""
        try:
            before = data["from"]
            return cls(
                id=str(data["id"]),
                at=datetime.fromisoformat(data["at"]),
                integration=str(data["integration"]),
                who=str(data["who"]),
                action=str(data["action"]),
                before=None if before is None else parse_setting(before, location=location),
                after=parse_setting(data["to"], location=location),
                reason=str(data["reason"]),
                version=int(data["version"]),
                undoes=data.get("undoes"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"not a flag audit entry: {exc!r}", location=location) from None


class AuditLog(ABC):
    """Where flips are recorded."""

    @abstractmethod
    def record(self, entry: AuditEntry) -> None:
        """Append one flip."""

    @abstractmethod
    def entries(self, integration: str | None = None) -> list[AuditEntry]:
        """Recorded flips, oldest first; only ``integration``'s when given."""


class MemoryAuditLog(AuditLog):
    """Flips kept in a list (tests, the in-memory store)."""

    def __init__(self) -> None:
        self._entries: list[AuditEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, integration: str | None = None) -> list[AuditEntry]:
        with self._lock:
            return [e for e in self._entries if integration in (None, e.integration)]


class JsonlAuditLog(AuditLog):
    """Flips appended to a JSON-lines file (default ``$MARTECH_BUS_DATA_DIR/flag-audit.jsonl``)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else Paths.resolve().data_dir / AUDIT_FILE
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        line = json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: concurrent writers do not interleave lines.
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())  # a flip is rare; losing its record is not OK

    def entries(self, integration: str | None = None) -> list[AuditEntry]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = Location(file=str(self.path), line=number)
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"not JSON: {exc.msg}", location=where) from None
            entry = AuditEntry.from_dict(data, location=where)
            if integration in (None, entry.integration):
                found.append(entry)
        return found
