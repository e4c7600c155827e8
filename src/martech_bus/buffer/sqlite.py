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

Checkpoints run in a thread of their own (``Checkpointer``), never inside an
append: SQLite's automatic checkpoint would make the commit that crosses 1000
WAL pages copy megabytes into the database file and fsync it, and every append
queued behind that commit would wait for it.

Order is ``seq`` (the rowid): commit order, which group commit keeps equal to the
order appenders queued in. A claim scans from the head and skips records in
flight, so it costs O(records in flight) however long the backlog is.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
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
from martech_bus.sqlite import MEMORY, Database, data_file

logger = logging.getLogger("martech_bus.buffer")

DEFAULT_FILE: Final = "buffer.sqlite3"
DEFAULT_APPEND_TIMEOUT: Final = 10.0
#: Appended bytes between two checkpoints: about SQLite's own default of 1000 pages.
DEFAULT_CHECKPOINT_BYTES: Final = 4 * 1024 * 1024
#: A WAL longer than this (64 MiB of 4 KiB pages) gets a checkpoint that restarts it.
MAX_WAL_FRAMES: Final = 16_384
_PASSIVE_PASSES: Final = 4
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
    ``max_group_rows`` / ``max_group_bytes`` cap one group commit;
    ``checkpoint_bytes``: appended bytes between background checkpoints.
    """

    shares_commits = True  # append_each: one transaction

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        append_timeout: float = DEFAULT_APPEND_TIMEOUT,
        max_group_rows: int = DEFAULT_MAX_GROUP_ROWS,
        max_group_bytes: int = DEFAULT_MAX_GROUP_BYTES,
        checkpoint_bytes: int = DEFAULT_CHECKPOINT_BYTES,
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
        self.checkpointer: Checkpointer | None = None
        if self.path != MEMORY:  # an in-memory database has no WAL
            try:
                self.checkpointer = Checkpointer(self.path, checkpoint_bytes)
                with self._db.reading() as conn:
                    conn.execute("PRAGMA wal_autocheckpoint=0")  # this connection only
            except sqlite3.Error as exc:
                self.close()
                raise _translate(exc, self._what) from exc

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
        if self.checkpointer is not None:
            self.checkpointer.wrote(sum(len(row[2]) + len(row[3]) for row in rows))

    def _claim(self, limit: int, lease: Lease) -> list[Taken]:
        params = {"until": lease.until, "token": lease.token, "now": lease.now, "limit": limit}
        try:
            with self._db.transaction() as conn:
                rows = conn.execute(_CLAIM, params).fetchall()
        except sqlite3.Error as exc:
            raise _translate(exc, self._what) from exc
        if self.checkpointer is not None and rows:
            self.checkpointer.wrote(0)
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
        if self.checkpointer is not None and done:
            self.checkpointer.wrote(0)
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
        if self.checkpointer is not None:
            self.checkpointer.close()
        self._db.close()  # the last connection to close checkpoints what is left


class Checkpointer:
    """Copies the WAL of ``path`` back into the database file, in a thread and connection of its own.

    A PASSIVE checkpoint once ``every_bytes`` were written since the last one, and
    every ``interval`` seconds after any other write (claims, acks): it copies what
    it can without blocking writers. SQLite restarts the WAL from its beginning only
    once all of it was copied, which a passive checkpoint racing continuous appends
    may never achieve; past ``max_wal_frames`` a RESTART checkpoint (which holds
    writers off while it copies the remainder) bounds the file. A checkpoint that
    fails is only logged: the WAL stays correct, and the next one copies more.
    """

    def __init__(
        self,
        path: str | Path,
        every_bytes: int = DEFAULT_CHECKPOINT_BYTES,
        *,
        interval: float = 1.0,
        max_wal_frames: int = MAX_WAL_FRAMES,
    ) -> None:
        self.every_bytes = every_bytes
        self.interval = interval
        self.max_wal_frames = max_wal_frames
        self.checkpoints = 0  # completed (for tests and benchmarks)
        # A short busy timeout: a RESTART waits for writers and holds new ones off meanwhile.
        self._conn = sqlite3.connect(path, timeout=0.5, check_same_thread=False)
        self._lock = threading.Lock()  # the connection: the thread's, and callers of checkpoint()
        self._pending = 0
        self._dirty = False
        self._stopping = False
        self._due = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="martech-bus-buffer-checkpoint", daemon=True
        )
        self._thread.start()

    def wrote(self, size: int) -> None:
        """A write transaction committed ``size`` bytes.

        No lock: two threads racing here can only lose a count, which delays a checkpoint a little.
        """
        self._dirty = True
        self._pending += size
        if self._pending >= self.every_bytes:
            self._pending = 0
            self._due.set()

    def close(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join()
        with self._lock:
            self._conn.close()

    def _run(self) -> None:
        while True:
            self._due.wait(self.interval)
            self._due.clear()
            if self._stopping:
                return
            if self._dirty:
                self._dirty = False
                self.checkpoint()

    def checkpoint(self) -> None:
        """Copy what can be copied now (the thread calls this; so may a test)."""
        with self._lock:
            self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            # Passive passes until one copies everything: SQLite then restarts the WAL from its
            # start at the next commit, and the file never grows to the RESTART bound.
            for _ in range(_PASSIVE_PASSES):
                _busy, frames, copied = self._conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
                if copied >= frames:
                    break
            if frames > self.max_wal_frames:
                self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.checkpoints += 1
        except sqlite3.Error as exc:
            logger.warning("buffer checkpoint failed (the next one copies more): %s", exc)


def _translate(exc: sqlite3.Error, what: str) -> Exception:
    # OperationalError: locked past the busy timeout, disk full, I/O error: may pass.
    if isinstance(exc, sqlite3.OperationalError):
        return TransientStoreError(f"{what}: {exc}")
    return TerminalStoreError(f"{what}: {exc}")
