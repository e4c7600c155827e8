"""Expired sources keep accepting data, and say so: at start, periodically, and as a metric."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date

import pytest
from starlette.testclient import TestClient

from martech_bus.gateway.app import create_app
from martech_bus.gateway.expiry import ExpiryMonitor
from martech_bus.gateway.metrics import gateway_metrics
from martech_bus.gateway.sources import InboundSource
from martech_bus.testing.clock import FakeTime
from tests.gateway.conftest import MakeGateway
from tests.gateway.helpers import shopify_headers

HOUR = 3600.0


@pytest.fixture
def expired(sources: dict[str, InboundSource]) -> dict[str, InboundSource]:
    """The shipped sources with Shopify long past its date (the fake clock is in 2023)."""
    shopify = dataclasses.replace(sources["shopify"], expires_on=date(2023, 1, 31))
    return {**sources, "shopify": shopify}


def test_every_start_warns_about_each_expired_source_with_owner_and_plan(
    expired: dict[str, InboundSource], fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = ExpiryMonitor(expired.values(), clock=fake.clock)

    with caplog.at_level(logging.WARNING, "martech_bus.gateway.expiry"):
        [warning] = monitor.start()

    assert "'shopify' expired on 2023-01-31" in warning
    assert "keeps accepting data" in warning
    assert "commerce-platform" in warning
    assert expired["shopify"].migration_plan in warning
    assert caplog.messages == [warning]


def test_sources_within_their_date_are_not_warned_about(
    sources: dict[str, InboundSource], fake: FakeTime
) -> None:
    assert ExpiryMonitor(sources.values(), clock=fake.clock).start() == []


def test_the_warning_repeats_once_per_interval_of_the_clock(
    expired: dict[str, InboundSource], fake: FakeTime
) -> None:
    monitor = ExpiryMonitor(expired.values(), clock=fake.clock, interval=HOUR)
    monitor.start()

    fake.advance(HOUR - 1)
    early = monitor.tick()
    fake.advance(1)
    due = monitor.tick()
    again = monitor.tick()

    assert (early, len(due), again) == ([], 1, [])


def test_a_source_expires_when_the_clock_passes_its_date(
    sources: dict[str, InboundSource], fake: FakeTime
) -> None:
    shopify = dataclasses.replace(
        sources["shopify"], expires_on=date(2023, 11, 14)
    )  # the fake clock's day
    monitor = ExpiryMonitor([shopify], clock=fake.clock, interval=HOUR)

    today = monitor.start()
    fake.advance(24 * HOUR)
    tomorrow = monitor.tick()

    assert today == []
    assert len(tomorrow) == 1


def test_the_expired_gauge_is_one_per_expired_source(
    expired: dict[str, InboundSource], fake: FakeTime
) -> None:
    metrics = gateway_metrics()
    ExpiryMonitor(expired.values(), clock=fake.clock, metrics=metrics).start()

    snapshot = metrics.snapshot()

    assert snapshot.value("gateway_source_expired", source="shopify") == 1
    assert snapshot.value("gateway_source_expired", source="segment") == 0
    assert (
        snapshot.value("gateway_source_days_left", source="shopify")
        == -(date(2023, 11, 14) - date(2023, 1, 31)).days
    )


def test_an_expired_source_still_gets_202_and_shows_in_metrics_and_health(
    make_gateway: MakeGateway, expired: dict[str, InboundSource], fake: FakeTime
) -> None:
    metrics = gateway_metrics()
    monitor = ExpiryMonitor(expired.values(), clock=fake.clock, metrics=metrics)
    client = TestClient(create_app(make_gateway(sources=expired, metrics=metrics, expiry=monitor)))
    raw = b'{"id": 1}'

    answer = client.post("/v1/sources/shopify", headers=shopify_headers(raw), content=raw)
    text = client.get("/metrics").text
    health = client.get("/healthz").json()

    assert answer.status_code == 202
    assert 'martech_bus_gateway_source_expired{integration="gateway",source="shopify"} 1' in text
    assert 'martech_bus_gateway_source_expired{integration="gateway",source="segment"} 0' in text
    assert health["expired_sources"] == ["shopify"]


def test_requests_drive_the_periodic_warning(
    make_gateway: MakeGateway,
    expired: dict[str, InboundSource],
    fake: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = ExpiryMonitor(expired.values(), clock=fake.clock, interval=HOUR)
    monitor.start()
    client = TestClient(create_app(make_gateway(sources=expired, expiry=monitor)))
    raw = b'{"id": 1}'
    caplog.clear()  # the start's own warning

    with caplog.at_level(logging.WARNING, "martech_bus.gateway.expiry"):
        client.post("/v1/sources/shopify", headers=shopify_headers(raw), content=raw)
        fake.advance(HOUR)
        client.post("/v1/sources/shopify", headers=shopify_headers(raw), content=raw)

    assert len(caplog.messages) == 1
