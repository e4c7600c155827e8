"""SQLite for local state (buffer, DLQ, idempotency): WAL, a busy timeout, explicit transactions.

One ``Database`` wraps one connection shared by the threads of a process behind
a lock; other processes (or other ``Database`` objects on the same file) are
serialised by SQLite itself: writes take ``BEGIN IMMEDIATE`` so two writers
queue on the busy timeout instead of failing half-way through a transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Self

from martech_bus.config import Paths
from martech_bus.errors import ConfigError, Location

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
MEMORY = ":memory:"


def data_file(path: str | Path | None, default_name: str) -> str | Path:
    """``path`` when given, else ``default_name`` under ``MARTECH_BUS_DATA_DIR``."""
    if path is None:
        return Paths.resolve().data_dir / default_name
    return path if path == MEMORY else Path(path)


class Database:
    """One SQLite file in WAL mode with a versioned schema; thread-safe."""

    def __init__(
        self,
        path: str | Path,
        *,
        schema: str,
        version: int = 1,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 30.0,
    ) -> None:
        self.path = path
        if path != MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; we issue BEGIN/COMMIT ourselves.
        self._conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.RLock()
        try:
            self._use_wal(busy_timeout)
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._migrate(schema, version)
        except BaseException:
            self._conn.close()
            raise

    def _use_wal(self, busy_timeout: float) -> None:
        """Switch to WAL (persistent: readers never block writers).

        Switching needs an exclusive lock and SQLite does not call the busy handler
        for it, so two processes opening a new file at once can get "database is
        locked": retry within the busy timeout. A file already in WAL needs no switch.
        """
        deadline = time.monotonic() + busy_timeout
        delay = 0.005
        while True:
            try:
                (mode,) = self._conn.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def _migrate(self, schema: str, version: int) -> None:
        with self.transaction() as conn:
            (found,) = conn.execute("PRAGMA user_version").fetchone()
            if found > version:
                raise ConfigError(
                    f"schema version {found} was written by a newer martech-bus (this one knows {version})",
                    location=Location(file=str(self.path)),
                )
            if found < version:
                for statement in schema.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version={int(version)}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # Also when COMMIT itself fails (disk full, I/O error): leaving the connection
                # mid-transaction would make every later BEGIN IMMEDIATE on it fail.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads (a single SELECT is atomic on its own)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
