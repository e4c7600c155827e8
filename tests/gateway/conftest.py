"""Fixtures of the gateway tests: the shipped sources, a fake clock, buffers and gateways."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.buffer.sqlite import SqliteBufferStore
from martech_bus.gateway.app import create_app
from martech_bus.gateway.auth import BearerAuth
from martech_bus.gateway.ingest import Gateway
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.sources import InboundSource, find_sources
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.secrets import SecretResolver
from martech_bus.testing.clock import FakeTime
from tests.gateway.helpers import ENVIRON, SCHEMAS, SOURCES, TOKEN


@pytest.fixture(scope="session")
def sources() -> dict[str, InboundSource]:
    return find_sources(SOURCES)


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(SCHEMAS)


@pytest.fixture
def normalizer(sources: dict[str, InboundSource], registry: SchemaRegistry) -> Normalizer:
    return Normalizer(sources, registry)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def memory_buffer(fake: FakeTime) -> MemoryBufferStore:
    return MemoryBufferStore(clock=fake.clock)


@pytest.fixture
def sqlite_buffer(tmp_path: Path, fake: FakeTime) -> Iterator[SqliteBufferStore]:
    store = SqliteBufferStore(tmp_path / "buffer.sqlite3", clock=fake.clock)
    yield store
    store.close()


@pytest.fixture
def secrets() -> SecretResolver:
    return SecretResolver(environ=ENVIRON)


MakeGateway = Callable[..., Gateway]


@pytest.fixture
def make_gateway(
    memory_buffer: MemoryBufferStore,
    sources: dict[str, InboundSource],
    secrets: SecretResolver,
    fake: FakeTime,
) -> MakeGateway:
    """A gateway over the memory buffer with the shipped sources and one token; override any part."""

    def make(**overrides: Any) -> Gateway:
        settings: dict[str, Any] = {
            "sources": sources,
            "auth": BearerAuth([TOKEN]),
            "secrets": secrets,
            "clock": fake.clock,
        }
        settings.update(overrides)
        buffer = settings.pop("buffer", memory_buffer)
        return Gateway(buffer, **settings)

    return make


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Gateway:
    return make_gateway()


@pytest.fixture
def client(gateway: Gateway) -> TestClient:
    return TestClient(create_app(gateway), client=("127.0.0.1", 50000))
