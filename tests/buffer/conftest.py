"""One buffer per backend on shared storage, with a clock the tests can move.

memory and SQLite run on a fake clock: letting a lease run out costs nothing.
SQS runs on the local moto server, which hides messages in real time, so its
clock is the real one and ``advance`` really sleeps (tests keep leases at 1 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Unpack

import pytest

from martech_bus.buffer import BufferStore, Claimed, MemoryBufferStore, StoreOptions
from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.buffer.sqs import SqsBufferStore
from martech_bus.testing.aws import AwsEndpoint
from martech_bus.testing.clock import FakeTime

BACKENDS = ["memory", "sqlite", "sqs"]


@dataclass
class Buffers:
    """Stores of one backend on one storage (memory: one store, since it cannot share)."""

    backend: str
    build: Callable[..., BufferStore]
    fake: FakeTime | None  # None: real time (SQS)
    opened: list[BufferStore] = field(default_factory=list)

    @property
    def real_time(self) -> bool:
        return self.fake is None

    def clock(self) -> float:
        return time.time() if self.fake is None else self.fake.clock()

    def make(self, **options: Unpack[StoreOptions]) -> BufferStore:
        store = self.build(clock=self.clock, **options)
        self.opened.append(store)
        return store

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass: on the fake clock, or for real (a little more, for SQS's rounding)."""
        if self.fake is None:
            time.sleep(seconds + 0.05)
        else:
            self.fake.advance(seconds)

    def claim_until(
        self, store: BufferStore, count: int, visibility_timeout: float, patience: float = 3.0
    ) -> list[Claimed]:
        """Claim until ``count`` records came back (real time: moto may lag a moment; bounded)."""
        got = store.claim(count, visibility_timeout)
        deadline = time.monotonic() + (patience if self.real_time else 0)
        while len(got) < count and time.monotonic() < deadline:
            time.sleep(0.05)
            got += store.claim(count - len(got), visibility_timeout)
        return got


@pytest.fixture(scope="session")
def sqs_client(aws_endpoint: AwsEndpoint) -> Any:
    return aws_endpoint.client("sqs")


@pytest.fixture(params=BACKENDS)
def buffers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Buffers]:
    backend = str(request.param)
    if backend == "memory":
        shared: MemoryBufferStore | None = None

        def build_memory(**options: Any) -> BufferStore:
            nonlocal shared
            if shared is None:
                shared = MemoryBufferStore(**options)
            return shared

        buffers = Buffers(backend, build_memory, FakeTime())
    elif backend == "sqlite":
        path = tmp_path / "buffer.sqlite3"
        buffers = Buffers(backend, lambda **o: SqliteBufferStore(path, **o), FakeTime())
    else:
        request.getfixturevalue("aws")  # the moto server, emptied after the test
        client = request.getfixturevalue("sqs_client")
        url = client.create_queue(QueueName="martech-buffer")["QueueUrl"]
        # Short polls: moto is one server, so a short poll already sees every message.
        buffers = Buffers(
            backend,
            lambda **o: SqsBufferStore(url, client=client, receive_wait_seconds=0, **o),
            None,
        )
    yield buffers
    for store in buffers.opened:
        store.close()


@pytest.fixture
def buffer(buffers: Buffers) -> BufferStore:
    return buffers.make()
