"""The SQLite buffer: durable across reopening and a killed process; group commit on a real file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from martech_bus.buffer import AppendTimeoutError, Incoming
from martech_bus.buffer.sqlite import DEFAULT_CHECKPOINT_BYTES, SqliteBufferStore
from martech_bus.testing.clock import FakeTime

# Appends from ``threads`` threads, writes each acknowledged id to stdout the moment
# ``append`` returns, and kills the process once ``stop_after`` ids were written,
# while the other threads are in the middle of their appends.
CHILD = textwrap.dedent(
    """
    import os, sys, threading
    from martech_bus.buffer import Incoming
    from martech_bus.buffer.sqlite import SqliteBufferStore

    path, threads, batch, stop_after, checkpoint_bytes = sys.argv[1], *map(int, sys.argv[2:])
    store = SqliteBufferStore(path, checkpoint_bytes=checkpoint_bytes)
    lock, done, count = threading.Lock(), threading.Event(), [0]

    def work(worker):
        n = 0
        while True:
            records = [Incoming("segment", b"%d:%d" % (worker, n + i)) for i in range(batch)]
            ids = store.append(records)
            n += batch
            with lock:
                os.write(1, "".join(i + "\\n" for i in ids).encode())
                count[0] += len(ids)
                if count[0] >= stop_after:
                    done.set()

    for worker in range(threads):
        threading.Thread(target=work, args=(worker,), daemon=True).start()
    done.wait(60)
    os._exit(0)  # no close, no checkpoint, no atexit: as if killed
    """
)


# checkpoint_bytes=1: the background checkpointer copies the WAL after every commit, so the
# process is killed in the middle of checkpoints too.
@pytest.mark.parametrize(
    ("threads", "batch", "checkpoint_bytes"),
    [(1, 100, DEFAULT_CHECKPOINT_BYTES), (4, 1, DEFAULT_CHECKPOINT_BYTES), (4, 1, 1)],
)
def test_what_append_acknowledged_survives_a_killed_process(
    tmp_path: Path, threads: int, batch: int, checkpoint_bytes: int
) -> None:
    path = tmp_path / "buffer.sqlite3"
    arguments = [str(path), str(threads), str(batch), "300", str(checkpoint_bytes)]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    acknowledged = done.stdout.split()
    assert len(acknowledged) >= 300
    with SqliteBufferStore(path) as store:
        stored = {c.id for c in store.claim(100_000, 60)}
    assert set(acknowledged) <= stored  # in-flight appends may have landed too; never fewer
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_records_and_leases_survive_reopening(tmp_path: Path) -> None:
    path, fake = tmp_path / "buffer.sqlite3", FakeTime()
    with SqliteBufferStore(path, clock=fake.clock) as store:
        ids = store.append([Incoming("shopify", b"one", {"topic": "orders/create"})])
        ids += store.append([Incoming("shopify", b"two")])
        (crashed,) = store.claim(1, 30)  # a drainer that will never ack
    with SqliteBufferStore(path, clock=fake.clock) as store:
        assert store.depth() == 2
        (other,) = store.claim(10, 60)  # the leased one stays hidden
        assert other.id == ids[1]
        fake.advance(30)
        (again,) = store.claim(10, 30)
        assert (again.id, again.record.attempts) == (crashed.id, 2)
        assert (again.record.payload, dict(again.record.meta)) == (
            b"one",
            {"topic": "orders/create"},
        )


def test_the_buffer_file_is_wal_with_full_synchronous(tmp_path: Path) -> None:
    with SqliteBufferStore(tmp_path / "buffer.sqlite3") as store, store._db.reading() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer (as if another process) holding the file's write lock."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def test_appenders_queued_behind_a_busy_file_share_one_transaction(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite3"
    store = SqliteBufferStore(path)
    blocker = hold_write_lock(path)
    appenders = [
        threading.Thread(target=store.append, args=([Incoming("segment", b"%d" % n)],))
        for n in range(8)
    ]
    for thread in appenders:
        thread.start()
    deadline = time.monotonic() + 10
    while store.group_commit.pending < 8:  # the leader waits for the lock, the rest queue
        assert time.monotonic() < deadline
        time.sleep(0.01)
    blocker.execute("COMMIT")
    for thread in appenders:
        thread.join(10)
    assert store.depth() == 8
    # The leader's own transaction, then one for the seven that queued behind it.
    assert (store.group_commit.commits, store.group_commit.batches) == (2, 8)
    store.close()
    blocker.close()


def test_an_append_queued_too_long_fails_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite3"
    store = SqliteBufferStore(path, append_timeout=0.2)
    blocker = hold_write_lock(path)
    leader = threading.Thread(target=store.append, args=([Incoming("segment", b"first")],))
    leader.start()
    while store.group_commit.pending < 1:
        time.sleep(0.01)
    with pytest.raises(AppendTimeoutError):
        store.append([Incoming("segment", b"late")])
    blocker.execute("COMMIT")
    leader.join(10)
    assert [c.record.payload for c in store.claim(10, 60)] == [b"first"]
    store.close()
    blocker.close()


def test_the_default_file_lives_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path / "state"))
    with SqliteBufferStore() as store:
        assert store.path == tmp_path / "state" / "buffer.sqlite3"
        store.append_one("canonical", b"{}")
    assert (tmp_path / "state" / "buffer.sqlite3").exists()


def test_append_each_writes_every_record_in_one_transaction(tmp_path: Path) -> None:
    with SqliteBufferStore(tmp_path / "buffer.sqlite3") as store:
        outcomes = store.append_each([Incoming("segment", b"%d" % n) for n in range(5)])
        assert store.group_commit.commits == 1
        assert [c.id for c in store.claim(10, 60)] == outcomes


def test_checkpoints_run_in_the_background_never_inside_an_append(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite3"
    with SqliteBufferStore(path, checkpoint_bytes=10_000) as store:
        with store._db.reading() as conn:
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        ids = [store.append_one("segment", bytes(4_000)) for _ in range(5)]
        assert store.checkpointer is not None
        deadline = time.monotonic() + 30
        while store.checkpointer.checkpoints == 0:
            assert time.monotonic() < deadline, "no checkpoint ran"
            time.sleep(0.01)
        # The database file alone, without its WAL, now holds what was checkpointed.
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(path.read_bytes())
        with sqlite3.connect(copy) as conn:
            found = {row[0] for row in conn.execute("SELECT id FROM buffer")}
        assert found & set(ids)


def test_the_wal_stays_bounded_while_appending(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite3"
    record = bytes(100_000)
    with SqliteBufferStore(path, checkpoint_bytes=1) as store:
        assert store.checkpointer is not None
        for _ in range(40):
            store.append_one("segment", record)
            store.checkpointer.checkpoint()  # as the thread would, without waiting for it
        # Restarted after each checkpoint: a few records' pages, not forty.
        assert Path(f"{path}-wal").stat().st_size < 10 * len(record)
        assert store.depth() == 40


def test_closing_stops_the_checkpointer(tmp_path: Path) -> None:
    def checkpointers() -> int:
        return sum(t.name == "martech-bus-buffer-checkpoint" for t in threading.enumerate())

    before = checkpointers()
    store = SqliteBufferStore(tmp_path / "buffer.sqlite3")
    assert checkpointers() == before + 1
    store.close()
    assert checkpointers() == before


def test_an_in_memory_buffer_has_no_checkpointer() -> None:
    with SqliteBufferStore(":memory:") as store:
        assert store.checkpointer is None
        store.append_one("segment", b"{}")
        assert store.depth() == 1
