"""Fixtures for the store contract suites: injected clocks and one store per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from martech_bus.idempotency import IdempotencyStore, MemoryIdempotencyStore
from martech_bus.idempotency.dynamodb import DynamoDbIdempotencyStore
from martech_bus.idempotency.sqlite import SqliteIdempotencyStore
from martech_bus.sinks.dlq import DeadLetterStore
from martech_bus.sinks.dlq_jsonl import JsonlDeadLetterStore
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from martech_bus.sinks.dlq_sqlite import SqliteDeadLetterStore
from martech_bus.sinks.dlq_sqs import SqsDeadLetterStore
from martech_bus.testing.aws import AwsEndpoint

START = 1_700_000_000.0
T0 = datetime(2024, 5, 17, 9, 0, tzinfo=UTC)


class Clock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class DateClock:
    """An aware datetime that only moves when a test says so."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def date_clock() -> DateClock:
    return DateClock()


@pytest.fixture(scope="session")
def dynamodb_client(aws_endpoint: AwsEndpoint) -> Any:
    return aws_endpoint.client("dynamodb")


@pytest.fixture(scope="session")
def sqs_client(aws_endpoint: AwsEndpoint) -> Any:
    return aws_endpoint.client("sqs")


MakeIdempotency = Callable[[], IdempotencyStore]


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def idempotency_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_idempotency_store(
    idempotency_backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> Iterator[MakeIdempotency]:
    """New stores on one shared storage (memory: one store, since it cannot share)."""
    opened: list[IdempotencyStore] = []
    if idempotency_backend == "dynamodb":
        request.getfixturevalue("aws")  # the moto server, emptied after the test
        client = request.getfixturevalue("dynamodb_client")
        DynamoDbIdempotencyStore("deliveries", client=client, clock=clock).create_table()
    memory = MemoryIdempotencyStore(clock=clock)

    def make() -> IdempotencyStore:
        store: IdempotencyStore
        if idempotency_backend == "memory":
            return memory
        if idempotency_backend == "sqlite":
            store = SqliteIdempotencyStore(tmp_path / "idempotency.sqlite3", clock=clock)
        else:
            store = DynamoDbIdempotencyStore("deliveries", client=client, clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def idempotency_store(make_idempotency_store: MakeIdempotency) -> IdempotencyStore:
    return make_idempotency_store()


@pytest.fixture(params=["memory", "sqlite", "jsonl", "sqs"])
def dlq_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dlq(
    dlq_backend: str, request: pytest.FixtureRequest, tmp_path: Path, date_clock: DateClock
) -> Iterator[DeadLetterStore]:
    store: DeadLetterStore
    if dlq_backend == "memory":
        store = MemoryDeadLetterStore(clock=date_clock)
    elif dlq_backend == "sqlite":
        store = SqliteDeadLetterStore(tmp_path / "dlq.sqlite3", clock=date_clock)
    elif dlq_backend == "jsonl":
        store = JsonlDeadLetterStore(tmp_path / "dlq.jsonl", fsync=False, clock=date_clock)
    else:
        request.getfixturevalue("aws")
        store = SqsDeadLetterStore.create_queue(
            "martech-dlq",
            client=request.getfixturevalue("sqs_client"),
            receive_wait_seconds=0,  # moto is one server: short polling already sees everything
            clock=date_clock,
        )
    yield store
    store.close()
