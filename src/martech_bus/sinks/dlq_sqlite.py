"""SQLite dead-letter store: the embedded default, ``<data_dir>/dlq.sqlite3``.

Filter columns sit beside the JSON body so listing, counting and the oldest
record are index lookups. ``synchronous=FULL``: a dead letter may be the last
copy of an event, and dead letters are rare enough that the fsync is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from martech_bus.sinks.dlq import DeadLetter, DeadLetterStore, Now, Query
from martech_bus.sqlite import Database, data_file

DEFAULT_FILE: Final = "dlq.sqlite3"
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id TEXT PRIMARY KEY,
    vendor TEXT NOT NULL,
    dead_lettered_at REAL NOT NULL,
    replayed INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_age ON dead_letters (replayed, dead_lettered_at, id);
CREATE INDEX IF NOT EXISTS dead_letters_vendor ON dead_letters (vendor, dead_lettered_at)
"""


class SqliteDeadLetterStore(DeadLetterStore):
    """Dead letters in a SQLite table (``path`` defaults to ``<data_dir>/dlq.sqlite3``)."""

    def __init__(self, path: str | Path | None = None, *, clock: Now | None = None) -> None:
        super().__init__(clock=clock)
        self.path = data_file(path, DEFAULT_FILE)
        self._db = Database(self.path, schema=SCHEMA, synchronous="FULL")

    def _insert(self, record: DeadLetter, body: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.vendor,
                    record.dead_lettered_at.timestamp(),
                    record.replayed_at is not None,
                    body,
                ),
            )

    def _scan(self, query: Query) -> Iterable[str]:
        where, params = _where(query)
        sql = f"SELECT body FROM dead_letters{where} ORDER BY dead_lettered_at, id"
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        with self._db.reading() as conn:
            return [body for (body,) in conn.execute(sql, params)]

    def _read(self, record_id: str) -> str | None:
        with self._db.reading() as conn:
            row = conn.execute(
                "SELECT body FROM dead_letters WHERE id = ?", (record_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    def _remove(self, record_id: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM dead_letters WHERE id = ?", (record_id,)).rowcount > 0

    def _count(self, query: Query) -> int:
        where, params = _where(query)
        with self._db.reading() as conn:
            (count,) = conn.execute(f"SELECT count(*) FROM dead_letters{where}", params).fetchone()
        return int(count)

    def close(self) -> None:
        self._db.close()


def _where(query: Query) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.vendor is not None:
        clauses.append("vendor = ?")
        params.append(query.vendor)
    if query.since is not None:
        clauses.append("dead_lettered_at >= ?")
        params.append(query.since.timestamp())
    if not query.include_replayed:
        clauses.append("replayed = 0")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params
