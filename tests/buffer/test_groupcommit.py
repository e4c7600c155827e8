"""Group commit on its own: who leads, what a group holds, errors and the bounded wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from martech_bus.awsapi import TransientStoreError
from martech_bus.buffer import AppendTimeoutError
from martech_bus.buffer.groupcommit import GroupCommit, Row


class Writes:
    """A ``write`` that records each transaction and can be held shut."""

    def __init__(self) -> None:
        self.transactions: list[list[Row]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.failures = 0  # how many of the next transactions fail

    def __call__(self, rows: list[Row]) -> None:
        self.entered.set()
        self.gate.wait(10)
        if self.failures:
            self.failures -= 1
            raise TransientStoreError("disk I/O error")
        self.transactions.append(rows)


@pytest.fixture
def writes() -> Writes:
    return Writes()


class Threads:
    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, BaseException] = {}

    def start(self, name: str, target: Any, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:
                self.errors[name] = exc

        thread = threading.Thread(target=run, name=name)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)


@pytest.fixture
def threads() -> Iterator[Threads]:
    started = Threads()
    yield started
    started.join()


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def hold_a_leader(group: GroupCommit, writes: Writes, threads: Threads) -> None:
    """Start a leader whose transaction stays open until ``writes.gate`` is set."""
    writes.gate.clear()
    threads.start("leader", group.submit, [("lead",)])
    assert writes.entered.wait(5)


def test_a_lone_appender_leads_its_own_transaction(writes: Writes) -> None:
    group = GroupCommit(writes, timeout=1)
    group.submit([(1,), (2,)])
    group.submit([(3,)])
    assert writes.transactions == [[(1,), (2,)], [(3,)]]
    assert (group.commits, group.batches, group.pending) == (2, 2, 0)


def test_appenders_queued_behind_a_transaction_share_the_next_one_in_order(
    writes: Writes, threads: Threads
) -> None:
    group = GroupCommit(writes, timeout=5)
    hold_a_leader(group, writes, threads)
    for n in range(5):
        threads.start(f"f{n}", group.submit, [(n, "a"), (n, "b")])
        wait_for(lambda n=n: group.pending == n + 2)  # queue in a known order
    writes.gate.set()
    threads.join()
    assert threads.errors == {}
    assert writes.transactions == [
        [("lead",)],
        [(n, part) for n in range(5) for part in ("a", "b")],  # one transaction, queue order
    ]
    assert (group.commits, group.batches) == (2, 6)


def test_a_group_stops_at_the_cap_but_never_splits_a_batch(
    writes: Writes, threads: Threads
) -> None:
    group = GroupCommit(writes, timeout=5, max_rows=1_000)
    hold_a_leader(group, writes, threads)
    sizes = [400, 400, 400, 1_500]
    for n, size in enumerate(sizes):
        threads.start(f"f{n}", group.submit, [(n,)] * size)
        wait_for(lambda n=n: group.pending == n + 2)
    writes.gate.set()
    threads.join()
    assert [len(t) for t in writes.transactions] == [1, 800, 400, 1_500]


def test_a_failed_transaction_fails_every_member_and_the_next_one_works(
    writes: Writes, threads: Threads
) -> None:
    group = GroupCommit(writes, timeout=5)
    writes.failures = 2  # the leader's own transaction, then the followers' one
    hold_a_leader(group, writes, threads)
    for n in range(3):
        threads.start(f"f{n}", group.submit, [(n,)])
        wait_for(lambda n=n: group.pending == n + 2)
    writes.gate.set()
    threads.join()
    assert set(threads.errors) == {"leader", "f0", "f1", "f2"}
    followers = [threads.errors[f"f{n}"] for n in range(3)]
    assert all(isinstance(e, TransientStoreError) for e in followers)
    assert len({id(e) for e in followers}) == 3  # each thread raises its own exception
    assert all("disk I/O error" in str(e) for e in followers)
    group.submit([("after",)])
    assert writes.transactions == [[("after",)]]


def test_an_append_that_waits_too_long_is_withdrawn_and_never_written(
    writes: Writes, threads: Threads
) -> None:
    group = GroupCommit(writes, timeout=0.2)
    hold_a_leader(group, writes, threads)
    started = time.monotonic()
    with pytest.raises(AppendTimeoutError, match="nothing of it was written") as info:
        group.submit([("late",)])
    assert 0.2 <= time.monotonic() - started < 2
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, TransientStoreError)
    assert group.pending == 1  # only the leader
    writes.gate.set()
    threads.join()
    group.submit([("next",)])
    assert writes.transactions == [[("lead",)], [("next",)]]
