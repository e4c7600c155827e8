"""SQLite buffer: the embedded default, ``<data_dir>/buffer.sqlite3``.

``synchronous=FULL``: the gateway answers 202 once ``append`` returns, and the
sender then forgets the payload, so an acknowledged record must survive power
loss and OS crashes, not only a crash of this process. In WAL mode NORMAL skips
the fsync at commit: a process crash loses nothing, but a power cut can roll back
transactions that were already acknowledged. FULL fsyncs the WAL at every commit;
group commit (see ``groupcommit``) shares that fsync between concurrent appenders,
which is where NORMAL's speed would have come from. Claims, acks and releases go
through the same connection and are durable too (losing one would only cause a
duplicate, but one setting per file keeps the reasoning simple).

Order is ``seq`` (the rowid): commit order, which group commit keeps equal to the
order appenders queued in. A claim scans from the head and skips records in
flight, so it costs O(records in flight) however long the backlog is.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Unpack

from martech_bus.awsapi import TerminalStoreError, TransientStoreError
from martech_bus.buffer.base import BufferRecord, BufferStore, Held, Lease, StoreOptions, Taken
from martech_bus.buffer.groupcommit import (
    DEFAULT_MAX_GROUP_BYTES,
    DEFAULT_MAX_GROUP_ROWS,
    GroupCommit,
    Row,
)
from martech_bus.sqlite import Database, data_file

DEFAULT_FILE: Final = "buffer.sqlite3"
DEFAULT_APPEND_TIMEOUT: Final = 10.0
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS buffer (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    payload BLOB NOT NULL,
    meta TEXT NOT NULL,
    received_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    token TEXT
)
"""
# OR IGNORE: an id already buffered (a retried append) keeps its first copy, and does
# not fail the other appenders sharing the transaction.
_INSERT: Final = (
    "INSERT OR IGNORE INTO buffer (id, source, payload, meta, received_at, visible_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_CLAIM: Final = """
UPDATE buffer SET attempts = attempts + 1, visible_at = :until, token = :token
WHERE seq IN (SELECT seq FROM buffer WHERE visible_at <= :now ORDER BY seq LIMIT :limit)
RETURNING seq, id, source, payload, meta, received_at, attempts
"""
_NEVER_CLAIMED: Final = float("-inf")  # claimable at any time
# One encoder, made once: json.dumps with options builds a new one per call.
_encode_meta: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class SqliteBufferStore(BufferStore):
    """Records in a SQLite table (``path`` defaults to ``<data_dir>/buffer.sqlite3``).

    ``append_timeout`` bounds how long an append may queue for a transaction;
    ``max_group_rows`` / ``max_group_bytes`` cap one group commit.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        append_timeout: float = DEFAULT_APPEND_TIMEOUT,
        max_group_rows: int = DEFAULT_MAX_GROUP_ROWS,
        max_group_bytes: int = DEFAULT_MAX_GROUP_BYTES,
        **options: Unpack[StoreOptions],
    ) -> None:
        super().__init__(**options)
        self.path = data_file(path, DEFAULT_FILE)
        self._what = f"SQLite buffer {self.path}"
        try:
            self._db = Database(self.path, schema=SCHEMA, synchronous="FULL")
        except sqlite3.Error as exc:
            raise _translate(exc, self._what) from exc
        self.group_commit = GroupCommit(
            self._write,
            timeout=append_timeout,
            max_rows=max_group_rows,
            max_bytes=max_group_bytes,
            what=self._what,
        )

    def _append(self, records: Sequence[BufferRecord]) -> None:
        rows = [
            (
                r.id,
                r.source,
                r.payload,
                _encode_meta(r.meta) if r.meta else "{}",
                r.received_at,
                _NEVER_CLAIMED,
            )
            for r in records
        ]
        self.group_commit.submit(rows, sum(len(r.payload) for r in records))

    def _write(self, rows: list[Row]) -> None:
        """One transaction (one fsync) for a whole group."""
        try:
            with self._db.transaction() as conn:
                if len(rows) == 1:
                    conn.execute(_INSERT, rows[0])  # a lone appender: skip executemany's setup
                else:
                    conn.executemany(_INSERT, rows)
        except sqlite3.Error as exc:
            raise _translate(exc, self._what) from exc

    def _claim(self, limit: int, lease: Lease) -> list[Taken]:
        params = {"until": lease.until, "token": lease.token, "now": lease.now, "limit": limit}
        try:
            with self._db.transaction() as conn:
                rows = conn.execute(_CLAIM, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self._what) from exc
        rows.sort()  # RETURNING has no defined order; seq is the FIFO order
        return [
            Taken(
                BufferRecord(id_, source, payload, json.loads(meta), received, attempts),
                lease.token,
            )
            for _seq, id_, source, payload, meta, received, attempts in rows
        ]

    def _ack(self, held: Sequence[Held]) -> set[str]:
        return self._each(held, "DELETE FROM buffer WHERE id = ? AND token = ?", ())

    def _set_visibility(
        self, held: Sequence[Held], now: float, seconds: float, *, keep: bool
    ) -> set[str]:
        token = "token" if keep else "NULL"  # a release ends the lease: its token can no longer ack
        sql = f"UPDATE buffer SET visible_at = ?, token = {token} WHERE id = ? AND token = ?"
        return self._each(held, sql, (now + seconds,))

    def _each(self, held: Sequence[Held], sql: str, first: tuple[float, ...]) -> set[str]:
        done = set()
        try:
            with self._db.transaction() as conn:
                for record_id, token in held:
                    if conn.execute(sql, (*first, record_id, token)).rowcount:
                        done.add(record_id)
        except sqlite3.Error as exc:
            raise _translate(exc, self._what) from exc
        return done

    def _depth(self) -> int:
        with self._db.reading() as conn:
            (count,) = conn.execute("SELECT count(*) FROM buffer").fetchone()
        return int(count)

    def _oldest_received_at(self) -> float | None:
        with self._db.reading() as conn:
            row = conn.execute("SELECT received_at FROM buffer ORDER BY seq LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def _close(self) -> None:
        self._db.close()


def _translate(exc: sqlite3.Error, what: str) -> Exception:
    # OperationalError: locked past the busy timeout, disk full, I/O error: may pass.
    if isinstance(exc, sqlite3.OperationalError):
        return TransientStoreError(f"{what}: {exc}")
    return TerminalStoreError(f"{what}: {exc}")
