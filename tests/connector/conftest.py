"""Connector fixtures: the session Kafka, a threaded vendor stub, stubbed adapters, a fake clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.connector import Connector
from martech_bus.integration import Runtime
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.testing.clock import FakeTime
from tests.connector.helpers import CONSUMER, PIXEL, ROOT, Bus, Vendor, meta_capi_on_stub

#: What the meta_capi adapter maps: the connector subscribes to their topics.
EVENT_TYPES = (
    "order_completed",
    "checkout_started",
    "product_added_to_cart",
    "product_viewed",
    "lead_captured",
)


@pytest.fixture(scope="session")
def make_httpserver() -> Iterator[HTTPServer]:
    """pytest-httpserver's server, on 127.0.0.1 and threaded (two connectors post at once)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="session")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(ROOT / "schemas")


@pytest.fixture
def bus(kafka_bootstrap: str, registry: SchemaRegistry) -> Bus:
    """A topic namespace of this test's own on the shared broker."""
    return Bus(kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}.", registry)


@pytest.fixture
def vendor(httpserver: HTTPServer) -> Vendor:
    stub = Vendor()
    httpserver.expect_request(f"/v19.0/{PIXEL}/events", method="POST").respond_with_handler(stub)
    return stub


@dataclass
class World:
    """Stubbed adapters and SQLite stores under tmp_path, settings in the environment, maybe a bus."""

    tmp: Path
    adapters: Path
    env: dict[str, str]
    bus: Bus | None = None

    def runtime(self, clock: FakeTime | None = None, **settings: Any) -> Runtime:
        """A runtime on this world's stores (unless ``settings`` say otherwise); time is ``clock``."""
        clock = clock or FakeTime(datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp())
        return Runtime(sleep=clock.sleep, clock=clock.clock, **settings)

    def connector(
        self, runtime: Runtime | None = None, *, group: str = "group", **options: Any
    ) -> Connector:
        """A connector on this test's topics, with the tests' consumer settings."""
        runtime = runtime or self.runtime()
        options.setdefault("sleep", runtime.sleep)
        prefix = self.bus.prefix if self.bus is not None else ""
        return Connector(
            "meta_capi",
            runtime=runtime,
            # Offline tests inject a consumer: the address is never dialled.
            bootstrap=self.bus.bootstrap if self.bus is not None else "127.0.0.1:9",
            group=prefix + group,
            topic_prefix=prefix,
            consumer_config={**CONSUMER, **options.pop("consumer_config", {})},
            **options,
        )


@pytest.fixture
def offline(tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> World:
    """The meta_capi adapter pointed at the vendor stub, SQLite stores; no Kafka."""
    adapters, env = meta_capi_on_stub(tmp_path, httpserver.url_for("/").rstrip("/"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return World(tmp_path, adapters, env)


@pytest.fixture
def world(offline: World, bus: Bus) -> World:
    """``offline`` plus this test's topics on the session broker."""
    bus.create(EVENT_TYPES)
    return replace(offline, bus=bus)
