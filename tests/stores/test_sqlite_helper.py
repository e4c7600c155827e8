"""The shared SQLite helper: WAL, transactions that roll back, versioned schemas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from martech_bus.sqlite import MEMORY, Database, data_file

SCHEMA = "CREATE TABLE IF NOT EXISTS t (x INTEGER)"


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    with Database(tmp_path / "deep" / "db.sqlite3", schema=SCHEMA) as db:
        with pytest.raises(RuntimeError), db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            raise RuntimeError("boom")
        with db.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
        with db.reading() as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL by default


def test_data_files_default_to_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path))
    assert data_file(None, "x.sqlite3") == tmp_path / "x.sqlite3"
    assert data_file("elsewhere.db", "x.sqlite3") == Path("elsewhere.db")
    assert data_file(MEMORY, "x.sqlite3") == MEMORY


def test_an_in_memory_database_needs_no_directory() -> None:
    with Database(MEMORY, schema=SCHEMA, synchronous="NORMAL") as db, db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")


def test_a_commit_that_fails_leaves_the_connection_usable(tmp_path: Path) -> None:
    schema = (
        "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE IF NOT EXISTS child (parent INTEGER"
        " REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with Database(tmp_path / "db.sqlite3", schema=schema) as db:
        with db.reading() as conn:
            conn.execute("PRAGMA foreign_keys = ON")  # a deferred check fails at COMMIT
        with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
            conn.execute("INSERT INTO child VALUES (42)")
        with db.transaction() as conn:
            conn.execute("INSERT INTO parent VALUES (42)")
        with db.reading() as conn:
            assert conn.execute("SELECT id FROM parent").fetchall() == [(42,)]
            assert conn.execute("SELECT parent FROM child").fetchall() == []


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "shared.sqlite3"
    code = (
        "import sys; from martech_bus.sqlite import Database; "
        f"Database(sys.argv[1], schema={SCHEMA!r}).close()"
    )
    processes = [subprocess.Popen([sys.executable, "-c", code, str(path)]) for _ in range(6)]
    assert [p.wait(60) for p in processes] == [0] * 6
