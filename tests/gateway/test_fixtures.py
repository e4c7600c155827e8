"""Every shipped fixture: the vendor payload normalizes to exactly its expected canonical events."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.buffer.base import BufferRecord
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.sources import (
    FIXTURE_RECEIVED_AT,
    FIXTURE_RECORD_ID,
    SourceFixture,
    find_sources,
)
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from tests.gateway.helpers import SOURCES, fixture_meta

CASES = [
    pytest.param(source.name, fixture, id=f"{source.name}-{fixture.name}")
    for source in find_sources(SOURCES).values()
    for fixture in source.fixtures()
]


def _normalize(normalizer: Normalizer, source: str, fixture: SourceFixture) -> Any:
    record = BufferRecord(
        FIXTURE_RECORD_ID,
        source,
        fixture.load_input(),
        fixture_meta(fixture.load_headers()),
        FIXTURE_RECEIVED_AT,
    )
    return normalizer.normalize(record)


@pytest.mark.parametrize(("source", "fixture"), CASES)
def test_a_fixture_normalizes_to_exactly_its_expected_events(
    normalizer: Normalizer, source: str, fixture: SourceFixture
) -> None:
    result = _normalize(normalizer, source, fixture)

    assert result.failures == []
    assert [event for _, event in result.events] == fixture.load_expected()


@pytest.mark.parametrize(("source", "fixture"), CASES)
def test_a_fixtures_expected_events_are_valid_canonical_events(
    registry: SchemaRegistry, source: str, fixture: SourceFixture
) -> None:
    for event in fixture.load_expected():
        validate_event(registry, event)


def test_each_shipped_source_has_fixtures_for_every_route() -> None:
    for source in find_sources(SOURCES).values():
        mapped = set(source.specs)
        covered = {
            event["event_type"]
            for fixture in source.fixtures()
            for event in fixture.load_expected()
        }
        assert {source.specs[stem].event for stem in mapped} <= covered, source.name


def test_segment_fixtures_cover_track_identify_page_and_batch() -> None:
    names = {fixture.name for fixture in find_sources(SOURCES)["segment"].fixtures()}

    assert {"track_order_completed", "identify", "page", "batch"} <= names


def test_money_comes_out_as_decimal_strings(normalizer: Normalizer) -> None:
    for source in find_sources(SOURCES).values():
        for fixture in source.fixtures():
            for _, event in _normalize(normalizer, source.name, fixture).events:
                if event["event_type"] == "order_completed":
                    assert isinstance(event["properties"]["total"], str)
                    assert all(isinstance(p["price"], str) for p in event["properties"]["products"])
