"""Quarantine: stores keep the raw payload with its reason; replay after a mapping fix."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from martech_bus.buffer.base import Incoming
from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.errors import ConfigError
from martech_bus.gateway.drainer import Drainer
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import (
    MemoryQuarantineStore,
    QuarantinedItem,
    QuarantineError,
    QuarantineStore,
    SqliteQuarantineStore,
    quarantine_store,
)
from martech_bus.gateway.replay import ReplayVerdict, replay_quarantine
from martech_bus.gateway.sources import CANONICAL, FIXTURE_RECEIVED_AT, find_sources
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.testing.clock import FakeTime
from tests.gateway.helpers import SOURCES


def _item(
    n: int = 1, *, source: str = "segment", at: float = 100.0, payload: bytes = b"{}"
) -> QuarantinedItem:
    return QuarantinedItem(
        record_id=f"r-{n}",
        source=source,
        payload=payload,
        received_at=at - 1,
        quarantined_at=at,
        reason="inbound mapping 'x' made an invalid event",
        problems=("properties.currency: missing",),
        meta={"header.x-shopify-topic": "orders/create"},
    )


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[QuarantineStore]:
    made: QuarantineStore = (
        MemoryQuarantineStore()
        if request.param == "memory"
        else SqliteQuarantineStore(tmp_path / "q.sqlite3")
    )
    yield made
    made.close()


def test_an_item_keeps_its_raw_bytes_exactly(store: QuarantineStore) -> None:
    raw = b'\xff\xfe not even utf-8 {"a": 1}'
    store.put(_item(payload=raw))

    assert store.get("r-1").payload == raw


def test_an_item_round_trips_every_field(store: QuarantineStore) -> None:
    item = _item()
    store.put(item)

    assert store.get(item.id) == item


def test_items_list_oldest_first_and_by_source(store: QuarantineStore) -> None:
    store.put(_item(2, at=200.0))
    store.put(_item(1, at=100.0))
    store.put(_item(3, source="shopify", at=50.0))

    assert [i.id for i in store.list()] == ["r-3", "r-1", "r-2"]
    assert [i.id for i in store.list(source="segment")] == ["r-1", "r-2"]
    assert store.count(source="shopify") == 1
    assert [i.id for i in store.list(limit=1)] == ["r-3"]


def test_quarantining_an_item_again_replaces_it_and_counts_attempts(store: QuarantineStore) -> None:
    store.put(_item())
    again = store.put(_item(at=500.0))

    assert store.count() == 1
    assert again.attempts == 2
    assert store.get("r-1").quarantined_at == 500.0


def test_one_item_of_a_batch_has_its_index_in_the_id(store: QuarantineStore) -> None:
    from dataclasses import replace

    store.put(replace(_item(), item=3))

    assert store.get("r-1#3").item == 3


def test_removing_forgets_the_item(store: QuarantineStore) -> None:
    store.put(_item())

    assert store.remove("r-1") is True
    assert store.remove("r-1") is False
    with pytest.raises(QuarantineError, match="r-1"):
        store.get("r-1")


def test_the_sqlite_store_survives_a_reopen(tmp_path: Path) -> None:
    SqliteQuarantineStore(tmp_path / "q.sqlite3").put(_item())

    assert SqliteQuarantineStore(tmp_path / "q.sqlite3").count() == 1


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("memory", MemoryQuarantineStore), ("sqlite:{tmp}/q.db", SqliteQuarantineStore)],
)
def test_the_store_is_chosen_by_one_setting(spec: str, kind: type, tmp_path: Path) -> None:
    assert isinstance(quarantine_store(spec.format(tmp=tmp_path)), kind)


def test_an_unknown_store_kind_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="MARTECH_BUS_QUARANTINE"):
        quarantine_store("redis")


# -- replay after a fix ---------------------------------------------------------------------------

TRACK = (SOURCES / "segment" / "fixtures" / "track_order_completed.input.json").read_bytes()
EXPECTED = json.loads(
    (SOURCES / "segment" / "fixtures" / "track_order_completed.expected.json").read_text()
)
CURRENCY = "currency: {path: properties.currency, transform: [trim, upper]}"


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, events: list[Any]) -> list[EventResult]:
        self.events.extend(events)
        return [EventResult(e.get("event_id"), EventStatus.DELIVERED) for e in events]


@pytest.fixture
def sources_copy(tmp_path: Path) -> Path:
    copied = tmp_path / "sources"
    shutil.copytree(SOURCES, copied)
    return copied


def _break_mapping(sources: Path) -> Path:
    mapping = sources / "segment" / "mappings" / "order_completed.yaml"
    text = mapping.read_text()
    assert CURRENCY in text
    mapping.write_text(
        text.replace(CURRENCY, CURRENCY.replace("properties.currency", "properties.curency"))
    )
    return mapping


def _fix_mapping(mapping: Path) -> None:
    mapping.write_text(mapping.read_text().replace("properties.curency", "properties.currency"))


def test_a_payload_quarantined_by_a_broken_mapping_is_delivered_after_the_fix(
    sources_copy: Path, registry: SchemaRegistry, fake: FakeTime
) -> None:
    mapping = _break_mapping(sources_copy)
    buffer = MemoryBufferStore(clock=lambda: FIXTURE_RECEIVED_AT)
    quarantine = MemoryQuarantineStore()
    process = Recorder()
    buffer.append([Incoming("segment", TRACK, {}, id="fixture")])
    broken = Normalizer(find_sources(sources_copy), registry)
    Drainer(buffer, broken, process, quarantine, fake.clock, fake.sleep).run_once()
    [item] = quarantine.list()
    assert "properties.currency" in " ".join(item.problems)

    _fix_mapping(mapping)
    fixed = Normalizer(find_sources(sources_copy), registry)
    report = replay_quarantine(quarantine, fixed, buffer, clock=fake.clock)
    Drainer(buffer, fixed, process, quarantine, fake.clock, fake.sleep).run_once()

    assert report.count(ReplayVerdict.REPLAYED) == 1
    assert quarantine.count() == 0
    assert process.events == EXPECTED  # the same event, the same derived id, as if never broken
    assert buffer.depth() == 0


def test_a_dry_run_replay_changes_nothing(
    sources_copy: Path, registry: SchemaRegistry, fake: FakeTime
) -> None:
    quarantine = MemoryQuarantineStore()
    quarantine.put(_quarantined(TRACK))
    buffer = MemoryBufferStore()

    report = replay_quarantine(
        quarantine, Normalizer(find_sources(sources_copy), registry), buffer, dry_run=True
    )

    assert report.count(ReplayVerdict.WOULD_REPLAY) == 1
    assert (quarantine.count(), buffer.depth()) == (1, 0)


def _quarantined(payload: bytes, item: int | None = 0, source: str = "segment") -> QuarantinedItem:
    return QuarantinedItem(
        record_id="fixture",
        item=item,
        source=source,
        payload=payload,
        received_at=FIXTURE_RECEIVED_AT,
        quarantined_at=FIXTURE_RECEIVED_AT,
        reason="was broken",
    )


def test_an_item_that_still_fails_stays_with_its_new_reason(
    sources_copy: Path, registry: SchemaRegistry, fake: FakeTime
) -> None:
    _break_mapping(sources_copy)
    quarantine = MemoryQuarantineStore()
    quarantine.put(_quarantined(TRACK))
    buffer = MemoryBufferStore()

    report = replay_quarantine(
        quarantine, Normalizer(find_sources(sources_copy), registry), buffer, clock=fake.clock
    )

    [item] = quarantine.list()
    assert report.count(ReplayVerdict.FAILED) == 1
    assert "invalid event" in item.reason
    assert item.attempts == 2
    assert buffer.depth() == 0


def test_a_whole_payload_replays_into_its_good_items_and_quarantines_the_rest(
    normalizer: Normalizer, fake: FakeTime
) -> None:
    good = json.loads(TRACK)
    bad = {**good, "messageId": "m-2", "properties": {**good["properties"], "currency": None}}
    quarantine = MemoryQuarantineStore()
    quarantine.put(_quarantined(json.dumps({"batch": [good, bad]}).encode(), item=None))
    buffer = MemoryBufferStore()

    report = replay_quarantine(quarantine, normalizer, buffer, clock=fake.clock)

    assert report.items[0].verdict is ReplayVerdict.REPLAYED
    assert [i.id for i in quarantine.list()] == ["fixture#1"]
    [claim] = buffer.claim()
    assert claim.record.source == CANONICAL
    assert [e["event_id"] for e in json.loads(claim.record.payload)["events"]] == [
        EXPECTED[0]["event_id"]
    ]


def test_a_quarantined_canonical_record_is_buffered_again_as_it_was(normalizer: Normalizer) -> None:
    raw = json.dumps({"event_id": "e-1"}).encode()
    quarantine = MemoryQuarantineStore()
    quarantine.put(_quarantined(raw, item=None, source=CANONICAL))
    buffer = MemoryBufferStore()

    replay_quarantine(quarantine, normalizer, buffer)

    [claim] = buffer.claim()
    assert (claim.record.source, claim.record.payload) == (CANONICAL, raw)
    assert quarantine.count() == 0
