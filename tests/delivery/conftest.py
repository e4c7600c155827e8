"""Fixtures for the delivery tests: a threaded vendor server on 127.0.0.1, a real httpx client,
injected time, and a sink factory."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from martech_bus.ratelimit import CircuitBreaker, TokenBucket
from martech_bus.retry import RemainingTime, RetryPolicy
from martech_bus.secrets import SecretResolver
from martech_bus.sinks.http import HttpEndpoint, HttpSink
from tests.delivery.helpers import FakeTime, Rng

MakeSink = Callable[..., HttpSink]


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """pytest-httpserver's server, on 127.0.0.1 and threaded (a slow handler must not block others)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def make_sink(httpserver: HTTPServer, http_client: httpx.Client, fake_time: FakeTime) -> MakeSink:
    """``make_sink(path, policy=..., secrets=..., **endpoint_fields)``: a sink on the test server."""

    def make(
        path: str = "/events",
        *,
        policy: RetryPolicy | None = None,
        secrets: SecretResolver | None = None,
        rate_limiter: TokenBucket | None = None,
        breaker: CircuitBreaker | None = None,
        remaining_time: RemainingTime | None = None,
        rng: Rng | None = None,
        client: httpx.Client | None = None,
        url: str | None = None,
        **endpoint: Any,
    ) -> HttpSink:
        return HttpSink(
            HttpEndpoint(url or httpserver.url_for(path), **endpoint),
            client or http_client,
            policy or RetryPolicy(),
            secrets,
            rate_limiter,
            breaker,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            rng=rng or random.Random(1234).uniform,
            remaining_time=remaining_time,
        )

    return make


@pytest.fixture
def dropping_server() -> Iterator[tuple[str, list[int]]]:
    """A raw TCP server on 127.0.0.1 that reads each request and hangs up without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    accepted: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.recv(65536)
                accepted.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    yield f"http://127.0.0.1:{port}/events", accepted
    stop.set()
    thread.join(timeout=2)
    listener.close()
