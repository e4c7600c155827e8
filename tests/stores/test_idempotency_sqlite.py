"""What the SQLite idempotency store adds to the contract: durability, WAL, one transaction per batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.idempotency import SqliteIdempotencyStore
from tests.stores.conftest import Clock


def test_a_delivery_survives_reopening_the_file(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "state" / "idempotency.sqlite3"
    with SqliteIdempotencyStore(path, clock=clock) as store:
        done, held = store.claim("done"), store.claim("held")
        assert done is not None and held is not None
        done.complete()
    with SqliteIdempotencyStore(path, clock=clock) as reopened:
        assert reopened.is_delivered("done")
        assert reopened.claim_many(["done", "held", "new"]).keys() == {"done", "held", "new"}
        assert reopened.delivered(["done", "held", "new"]) == {"done"}
        assert reopened.claim("held") is None  # its lease survived too


def test_the_file_is_in_wal_mode_under_the_data_dir_by_default(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path / "data"))
    with SqliteIdempotencyStore(clock=clock) as store:
        assert store.path == tmp_path / "data" / "idempotency.sqlite3"
    with sqlite3.connect(tmp_path / "data" / "idempotency.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_bulk_claim_is_one_transaction(tmp_path: Path, clock: Clock) -> None:
    with SqliteIdempotencyStore(tmp_path / "i.sqlite3", clock=clock) as store:
        statements: list[str] = []
        store._db._conn.set_trace_callback(statements.append)
        claims = store.claim_many([f"k{i}" for i in range(50)])
        assert all(claims.values())
        store.complete_many(c for c in claims.values() if c is not None)
    assert sum(s.startswith("BEGIN") for s in statements) == 2  # one per bulk call
    assert sum(s.startswith("COMMIT") for s in statements) == 2


def test_a_lookup_of_many_keys_is_chunked(tmp_path: Path, clock: Clock) -> None:
    keys = [f"k{i}" for i in range(1_200)]
    with SqliteIdempotencyStore(tmp_path / "i.sqlite3", clock=clock) as store:
        store.complete_many(c for c in store.claim_many(keys).values() if c is not None)
        assert store.delivered(keys) == set(keys)


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "i.sqlite3"
    SqliteIdempotencyStore(path, clock=clock).close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(ConfigError, match=r"i\.sqlite3: schema version 99 .* newer martech-bus"):
        SqliteIdempotencyStore(path, clock=clock)
