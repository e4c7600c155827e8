"""SQLite idempotency store: the embedded default, one file under ``MARTECH_BUS_DATA_DIR``.

Each bulk call is one ``BEGIN IMMEDIATE`` transaction, so a claim is atomic
against other threads, other store objects and other processes on the file.
``synchronous=NORMAL``: in WAL mode a power cut may lose the last commits but
never corrupts the file; losing a claim or a completion can at worst cause one
duplicate send, which at-least-once delivery allows, and claims sit on the hot path.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Unpack

from martech_bus.idempotency.base import Entry, IdempotencyStore, Status, StoreOptions
from martech_bus.sqlite import Database, data_file

DEFAULT_FILE: Final = "idempotency.sqlite3"
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    token TEXT NOT NULL,
    until REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_until ON idempotency (until)
"""
# An upsert whose update only happens when the stored record no longer blocks.
_CLAIM: Final = """
INSERT INTO idempotency (key, status, token, until) VALUES (?, ?, ?, ?)
ON CONFLICT (key) DO UPDATE
SET status = excluded.status, token = excluded.token, until = excluded.until
WHERE idempotency.until <= ?
"""
_PUT: Final = "INSERT OR REPLACE INTO idempotency (key, status, token, until) VALUES (?, ?, ?, ?)"
_RELEASE: Final = "DELETE FROM idempotency WHERE key = ? AND token = ? AND status = ?"
_CHUNK: Final = 500  # stay far below SQLite's bound-parameter limit


class SqliteIdempotencyStore(IdempotencyStore):
    """Records in a SQLite table (``path`` defaults to ``<data_dir>/idempotency.sqlite3``)."""

    def __init__(self, path: str | Path | None = None, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self.path = data_file(path, DEFAULT_FILE)
        self._db = Database(self.path, schema=SCHEMA, synchronous="NORMAL")

    def _claim(self, entries: Sequence[Entry], now: float) -> set[str]:
        won = set()
        with self._db.transaction() as conn:
            for e in entries:
                if conn.execute(_CLAIM, (e.key, e.status.value, e.token, e.until, now)).rowcount:
                    won.add(e.key)
        return won

    def _mark_delivered(self, entries: Sequence[Entry]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(_PUT, [(e.key, e.status.value, e.token, e.until) for e in entries])

    def _release(self, held: Sequence[tuple[str, str]]) -> set[str]:
        released = set()
        with self._db.transaction() as conn:
            for key, token in held:
                if conn.execute(_RELEASE, (key, token, Status.CLAIMED.value)).rowcount:
                    released.add(key)
        return released

    def _get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        found = {}
        with self._db.reading() as conn:
            for chunk in _chunks(keys):
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, status, token, until FROM idempotency WHERE key IN ({marks})",
                    chunk,
                )
                for key, status, token, until in rows:
                    found[key] = Entry(key, Status(status), token, until)
        return found

    def _purge(self, now: float) -> int:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM idempotency WHERE until <= ?", (now,)).rowcount

    def close(self) -> None:
        self._db.close()


def _chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]
