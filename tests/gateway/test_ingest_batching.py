"""Concurrent requests share buffer writes: queued on the event loop, written together, each answered."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.testclient import TestClient

from martech_bus.buffer.base import BufferRecord
from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.app import create_app
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.ingest import Admitted, Gateway, Reply, RequestHead
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import TOKEN, bearer, body, live, order

QUEUED = 5


class _HeldBuffer(MemoryBufferStore):
    """Records the size of every write; the first one waits until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def _append(self, records: Sequence[BufferRecord]) -> None:
        self.writes.append(len(records))
        self.entered.set()
        assert self.gate.wait(10)
        super()._append(records)


class _CountingGateway(Gateway):
    """Counts requests that passed their checks (each is queued for a write right after)."""

    admitted = 0

    def admit(self, target: str, head: RequestHead, body: bytes) -> Admitted | Reply:
        found = super().admit(target, head, body)
        if isinstance(found, Admitted):
            self.admitted += 1
        return found


def _wait(until: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not until():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_requests_arriving_during_a_write_share_the_next_one() -> None:
    buffer = _HeldBuffer()
    gateway = _CountingGateway(buffer, auth=BearerAuth([TOKEN]))
    events = [order() for _ in range(1 + QUEUED)]
    with (
        live(gateway) as url,
        httpx.Client(base_url=url, timeout=10) as http,
        ThreadPoolExecutor(1 + QUEUED) as pool,
    ):

        def post(event: dict[str, object]) -> httpx.Response:
            return http.post("/v1/events", headers=bearer(), content=body(event))

        first = pool.submit(post, events[0])
        _wait(buffer.entered.is_set)  # the first write is running (and held)
        rest = [pool.submit(post, event) for event in events[1:]]
        _wait(until=lambda: gateway.admitted == 1 + QUEUED)  # all queued behind it
        buffer.gate.set()
        answers = [first.result(), *(r.result() for r in rest)]

    assert buffer.writes == [1, QUEUED]
    assert [a.status_code for a in answers] == [202] * (1 + QUEUED)
    assert [a.json()["event_ids"] for a in answers] == [[e["event_id"]] for e in events]
    assert len({a.json()["record_id"] for a in answers}) == 1 + QUEUED
    assert buffer.depth() == 1 + QUEUED


def test_an_unexpected_error_in_a_write_is_500_and_acknowledges_nothing(
    make_gateway: MakeGateway, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(MemoryBufferStore):
        def _append(self, records: Sequence[BufferRecord]) -> None:
            raise RuntimeError("a bug in the buffer")

    buffer = Broken()
    client = TestClient(create_app(make_gateway(buffer=buffer)))

    answer = client.post("/v1/events", headers=bearer(), content=body(order()))

    assert answer.status_code == 500
    assert answer.json()["error"] == "internal_error"
    assert buffer.depth() == 0
    assert "a bug in the buffer" in caplog.text


def test_a_buffer_without_shared_commits_accepts_each_request_on_its_own(
    make_gateway: MakeGateway,
) -> None:
    class OneByOne(MemoryBufferStore):
        shares_commits = False

    buffer = OneByOne()
    client = TestClient(create_app(make_gateway(buffer=buffer)))

    answers = [client.post("/v1/events", headers=bearer(), content=body(order())) for _ in range(3)]

    assert [a.status_code for a in answers] == [202] * 3
    assert buffer.depth() == 3


def test_concurrent_requests_on_sqlite_are_all_durable_once_acknowledged(
    make_gateway: MakeGateway, sqlite_buffer: SqliteBufferStore
) -> None:
    gateway = make_gateway(buffer=sqlite_buffer)
    events = [order() for _ in range(40)]
    with live(gateway) as url, httpx.Client(base_url=url, timeout=10) as http:

        def post(event: dict[str, object]) -> httpx.Response:
            return http.post("/v1/events", headers=bearer(), content=body(event))

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, events))

    assert [a.status_code for a in answers] == [202] * len(events)
    acknowledged = {a.json()["record_id"] for a in answers}
    assert {c.id for c in sqlite_buffer.claim(100, 60)} == acknowledged
