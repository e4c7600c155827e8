"""Quarantine: buffered payloads that could not become valid canonical events, kept whole.

An item lands here when its payload is not JSON, its type has no route, its
inbound mapping fails, the event it makes is invalid, or its buffer record was
claimed too often (poison). The raw bytes are kept exactly as received, with
the source, the kept headers, when they arrived and why they were
quarantined, so that after fixing a mapping ``gateway quarantine replay``
normalizes them again: nothing is dropped.

Ids are ``<record id>`` (the whole payload) or ``<record id>#<item>`` (one item
of a batch), so quarantining the same item again (a re-claimed record) replaces
it and counts ``attempts`` instead of making a copy.

Like the dead-letter stores, the base class owns the JSON form; the backends
(memory, SQLite under ``MARTECH_BUS_DATA_DIR``) store and find text.
``MARTECH_BUS_QUARANTINE``: ``sqlite`` (default), ``sqlite:PATH``, ``memory``.
"""

from __future__ import annotations

import base64
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from martech_bus.errors import MartechBusError

FORMAT: Final = 1
DEFAULT_FILE: Final = "quarantine.sqlite3"


class QuarantineError(MartechBusError, LookupError):
    """No quarantined item has this id, or a stored item cannot be read."""


def item_id(record_id: str, item: int | None) -> str:
    """``<record id>`` for a whole payload, ``<record id>#<item>`` for one item of it."""
    return record_id if item is None else f"{record_id}#{item}"


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedItem:
    """One payload (or one item of it) that did not normalize; times are epoch seconds."""

    record_id: str
    source: str
    payload: bytes  # the raw body as received
    received_at: float
    quarantined_at: float
    reason: str
    item: int | None = None  # the item's index in the payload; None: the whole payload
    meta: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    attempts: int = 1  # how many times it was quarantined (re-claims, failed replays)

    @property
    def id(self) -> str:
        return item_id(self.record_id, self.item)

    def to_json(self) -> str:
        fields = asdict(self)
        fields.update(
            payload=base64.b64encode(self.payload).decode("ascii"),
            problems=list(self.problems),
            meta=dict(self.meta),
            format=FORMAT,
        )
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> QuarantinedItem:
        try:
            fields = json.loads(text)
            if fields.pop("format") != FORMAT:
                raise QuarantineError(f"unknown quarantine format (this reader knows {FORMAT})")
            fields["payload"] = base64.b64decode(fields["payload"], validate=True)
            fields["problems"] = tuple(fields["problems"])
            return cls(**fields)
        except QuarantineError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise QuarantineError(f"unreadable quarantined item: {exc}") from exc


class QuarantineStore(ABC):
    """Quarantined items by id; backends implement the text hooks below."""

    def put(self, item: QuarantinedItem) -> QuarantinedItem:
        """Keep ``item`` (durable on return); an item already kept under its id is replaced,
        its ``attempts`` counted on."""
        previous = self._read(item.id)
        if previous is not None:
            item = replace(item, attempts=QuarantinedItem.from_json(previous).attempts + 1)
        self._write(item.id, item.source, item.quarantined_at, item.to_json())
        return item

    def get(self, quarantine_id: str) -> QuarantinedItem:
        text = self._read(quarantine_id)
        if text is None:
            raise QuarantineError(f"no quarantined item {quarantine_id!r}")
        return QuarantinedItem.from_json(text)

    def list(self, *, source: str | None = None, limit: int | None = None) -> list[QuarantinedItem]:
        """Items oldest first, optionally of one source."""
        return [QuarantinedItem.from_json(text) for text in self._scan(source, limit)]

    def remove(self, quarantine_id: str) -> bool:
        """Forget an item (replayed); False when it was not there."""
        return self._delete(quarantine_id)

    def count(self, *, source: str | None = None) -> int:
        return len(list(self._scan(source, None)))

    def close(self) -> None:  # noqa: B027 - optional: only backends holding resources override it
        """Release the backend's resources."""

    @abstractmethod
    def _write(self, quarantine_id: str, source: str, quarantined_at: float, body: str) -> None:
        """Insert or replace one item, durably."""

    @abstractmethod
    def _read(self, quarantine_id: str) -> str | None: ...

    @abstractmethod
    def _scan(self, source: str | None, limit: int | None) -> Iterable[str]:
        """Bodies oldest first (by ``quarantined_at``, then id)."""

    @abstractmethod
    def _delete(self, quarantine_id: str) -> bool: ...


class MemoryQuarantineStore(QuarantineStore):
    """One process, lost on exit: tests and local runs."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float, str]] = {}
        self._lock = threading.Lock()

    def _write(self, quarantine_id: str, source: str, quarantined_at: float, body: str) -> None:
        with self._lock:
            self._items[quarantine_id] = (source, quarantined_at, body)

    def _read(self, quarantine_id: str) -> str | None:
        with self._lock:
            found = self._items.get(quarantine_id)
        return None if found is None else found[2]

    def _scan(self, source: str | None, limit: int | None) -> Iterable[str]:
        with self._lock:
            rows = sorted((at, key, s, body) for key, (s, at, body) in self._items.items())
        bodies = [body for _, _, s, body in rows if source is None or s == source]
        return bodies if limit is None else bodies[:limit]

    def _delete(self, quarantine_id: str) -> bool:
        with self._lock:
            return self._items.pop(quarantine_id, None) is not None


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS quarantine (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    quarantined_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_age ON quarantine (quarantined_at, id);
CREATE INDEX IF NOT EXISTS quarantine_source ON quarantine (source, quarantined_at, id)
"""


class SqliteQuarantineStore(QuarantineStore):
    """Items in a SQLite table (``path`` defaults to ``<data_dir>/quarantine.sqlite3``).

    ``synchronous=FULL``: an item is quarantined and then its buffer record acked,
    so this row can be the only copy of what a vendor sent.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        from martech_bus.sqlite import Database, data_file

        self.path = data_file(path, DEFAULT_FILE)
        self._db = Database(self.path, schema=_SCHEMA, synchronous="FULL")

    def _write(self, quarantine_id: str, source: str, quarantined_at: float, body: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?, ?)",
                (quarantine_id, source, quarantined_at, body),
            )

    def _read(self, quarantine_id: str) -> str | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT body FROM quarantine WHERE id = ?", (quarantine_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def _scan(self, source: str | None, limit: int | None) -> Iterable[str]:
        sql = "SELECT body FROM quarantine"
        params: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            params.append(source)
        sql += " ORDER BY quarantined_at, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._db.reading() as conn:
            return [str(body) for (body,) in conn.execute(sql, params)]

    def _delete(self, quarantine_id: str) -> bool:
        with self._db.transaction() as conn:
            return (
                conn.execute("DELETE FROM quarantine WHERE id = ?", (quarantine_id,)).rowcount > 0
            )

    def count(self, *, source: str | None = None) -> int:
        sql = "SELECT count(*) FROM quarantine"
        params: tuple[str, ...] = ()
        if source is not None:
            sql, params = sql + " WHERE source = ?", (source,)
        with self._db.reading() as conn:
            (found,) = conn.execute(sql, params).fetchone()
        return int(found)

    def close(self) -> None:
        self._db.close()


def quarantine_store(spec: str | None = None) -> QuarantineStore:
    """The store ``MARTECH_BUS_QUARANTINE`` names: ``sqlite`` (default), ``sqlite:PATH``, ``memory``."""
    from martech_bus.backends import choose_backend
    from martech_bus.config import setting

    kinds: dict[str, Callable[[str | None], QuarantineStore]] = {
        "sqlite": SqliteQuarantineStore,
        "memory": lambda _: MemoryQuarantineStore(),
    }
    store: QuarantineStore = choose_backend(
        "quarantine", setting("quarantine", spec, "sqlite") or "sqlite", kinds
    )
    return store


__all__ = [
    "MemoryQuarantineStore",
    "QuarantineError",
    "QuarantineStore",
    "QuarantinedItem",
    "SqliteQuarantineStore",
    "item_id",
    "quarantine_store",
]
