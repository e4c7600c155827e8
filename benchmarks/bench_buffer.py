"""Appending to the SQLite buffer with durable acknowledgement (WAL, synchronous=FULL).

Each contender is compared with a raw SQLite insert of the same rows into the
same table with the same durability (WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`,
one transaction per batch; time-ordered ids and meta JSON prepared in advance), on the same
disk. The buffer's append also makes a UUIDv7 per record, checks the record,
encodes its meta and goes through the group-commit queue. Payload: the ~1.3 kB
`order_completed` example event. Target: >= 0.5x raw.

An fsync dominates every commit, and its latency drifts with whatever else the
disk is doing, so contenders run in alternating rounds: a round of each, again
and again. Reported: the best round's rate of each contender, and the median of
the per-round ratios to the baseline (a ratio from one round compares contenders
that ran seconds apart).

*Concurrent*: 8 threads appending one record per call. Raw there means one
connection per thread and one transaction (one fsync) per record, queueing on
SQLite's write lock; "no sharing" is the buffer with groups capped at one batch;
"group commit" lets appenders that queue behind a commit share the next one.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.harness import table

if TYPE_CHECKING:
    from martech_bus.buffer import Incoming
    from martech_bus.buffer.sqlite import SqliteBufferStore

ROOT = Path(__file__).resolve().parent.parent
META = {"content-type": "application/json", "request-id": "req-0123456789"}
THREADS = 8
ROUNDS = 15

#: Runs one round; returns how many records it appended.
Round = Callable[[], int]


def _payload() -> bytes:
    return (ROOT / "examples" / "events" / "order_completed.json").read_bytes()


def _raw_connection(path: Path) -> sqlite3.Connection:
    from martech_bus.buffer.sqlite import SCHEMA

    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(SCHEMA)
    return conn


def _raw_append(
    conn: sqlite3.Connection, batch: int, calls: int, payload: bytes
) -> Callable[[], None]:
    """Insert ``batch`` prepared rows per call, one transaction each (``calls`` calls at most)."""
    from martech_bus.buffer.base import _ids
    from martech_bus.buffer.sqlite import _INSERT

    meta = json.dumps(META, separators=(",", ":"))
    # Time-ordered ids like the buffer's: random ones (uuid4) would scatter the id index's
    # inserts over the file and make every commit write more pages.
    rows = [
        (record_id, "segment", payload, meta, time.time(), float("-inf"))
        for record_id in _ids.take(time.time(), batch * calls)
    ]
    chunks = iter([rows[n : n + batch] for n in range(0, len(rows), batch)])

    def append() -> None:
        chunk = next(chunks)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, chunk)
        conn.execute("COMMIT")

    return append


def _appender(store: SqliteBufferStore, records: list[Incoming]) -> Callable[[], None]:
    def append() -> None:
        store.append(records)

    return append


def _serial(append: Callable[[], None], calls: int, batch: int) -> Round:
    def one_round() -> int:
        for _ in range(calls):
            append()
        return calls * batch

    return one_round


def _threaded(appends: Sequence[Callable[[], None]], calls: int) -> Round:
    """Thread i calls ``appends[i]`` ``calls`` times; all start together."""

    def one_round() -> int:
        start = threading.Barrier(len(appends))

        def work(append: Callable[[], None]) -> None:
            start.wait()
            for _ in range(calls):
                append()

        threads = [threading.Thread(target=work, args=(a,)) for a in appends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(appends) * calls

    return one_round


def _interleaved(contenders: dict[str, Round], baseline: str) -> list[tuple[str, ...]]:
    """Rounds of every contender in turn; rows of (name, best records/s, median ratio)."""
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for number in range(ROUNDS):
        # Alternate the order too, so no contender always runs right after the same one.
        for name in names if number % 2 == 0 else reversed(names):
            began = time.perf_counter()
            records = contenders[name]()
            rates[name].append(records / (time.perf_counter() - began))
    rows: list[tuple[str, ...]] = []
    for name in names:
        ratios = [mine / base for mine, base in zip(rates[name], rates[baseline], strict=True)]
        rows.append((name, f"{max(rates[name]):,.0f}", f"{statistics.median(ratios):.2f}x"))
    return rows


def _single(workdir: Path, batch: int, calls: int) -> list[tuple[str, ...]]:
    from martech_bus.buffer import Incoming
    from martech_bus.buffer.sqlite import SqliteBufferStore

    payload = _payload()
    raw = _raw_connection(workdir / f"raw-{batch}.sqlite3")
    store = SqliteBufferStore(workdir / f"buffer-{batch}.sqlite3")
    records = [Incoming("segment", payload, META)] * batch  # append gives each a new id
    try:
        return _interleaved(
            {
                f"raw SQLite insert, batch {batch}": _serial(
                    _raw_append(raw, batch, calls * ROUNDS, payload), calls, batch
                ),
                f"SqliteBufferStore.append, batch {batch}": _serial(
                    _appender(store, records), calls, batch
                ),
            },
            baseline=f"raw SQLite insert, batch {batch}",
        )
    finally:
        raw.close()
        store.close()


def _concurrent(workdir: Path, calls: int) -> tuple[list[tuple[str, ...]], float]:
    from martech_bus.buffer import Incoming
    from martech_bus.buffer.sqlite import SqliteBufferStore

    payload = _payload()
    records = [Incoming("segment", payload, META)]
    alone = _raw_connection(workdir / "raw-alone.sqlite3")
    shared_file = workdir / "raw-threads.sqlite3"
    connections = [_raw_connection(shared_file) for _ in range(THREADS)]
    unshared = SqliteBufferStore(workdir / "buffer-unshared.sqlite3", max_group_rows=1)
    grouped = SqliteBufferStore(workdir / "buffer-grouped.sqlite3")
    baseline = "raw SQLite insert, 1 thread"
    try:
        rows = _interleaved(
            {
                baseline: _serial(_raw_append(alone, 1, calls * 2 * ROUNDS, payload), calls * 2, 1),
                f"raw SQLite insert, {THREADS} threads, a connection each": _threaded(
                    [_raw_append(c, 1, calls * ROUNDS, payload) for c in connections], calls
                ),
                f"SqliteBufferStore.append, {THREADS} threads, no sharing": _threaded(
                    [_appender(unshared, records)] * THREADS, calls
                ),
                f"SqliteBufferStore.append, {THREADS} threads, group commit": _threaded(
                    [_appender(grouped, records)] * THREADS, calls
                ),
            },
            baseline=baseline,
        )
        per_commit = grouped.group_commit.batches / max(1, grouped.group_commit.commits)
        return rows, per_commit
    finally:
        for conn in [alone, *connections]:
            conn.close()
        unshared.close()
        grouped.close()


def run() -> str:
    header = ("contender", "best records/s", "median ratio")
    with tempfile.TemporaryDirectory(prefix="bench-buffer-") as tmp:
        workdir = Path(tmp)
        one = _single(workdir, 1, 200)
        hundred = _single(workdir, 100, 20)
        threaded, per_commit = _concurrent(workdir, 50)
    return (
        "Batch of 1 (one transaction per record):\n\n"
        + table(one, header)
        + "\n\nBatch of 100 (one transaction per batch):\n\n"
        + table(hundred, header)
        + f"\n\nConcurrent, one record per append ({THREADS} threads; ratio to raw, 1 thread):\n\n"
        + table(threaded, header)
        + f"\n\nWith group commit, a transaction held {per_commit:.1f} appends on average.\n"
    )
