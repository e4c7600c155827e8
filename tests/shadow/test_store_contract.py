"""Every shadow store keeps, replaces, lists and masks records the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from martech_bus.shadow.diff import FieldDifference
from martech_bus.shadow.select import shadow_store
from martech_bus.shadow.sqlite import SqliteShadowStore
from martech_bus.shadow.store import MASK, MemoryShadowStore, ShadowRecord, ShadowStore

Make = Callable[[], ShadowStore]


@pytest.fixture(params=["memory", "sqlite"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    if request.param == "memory":
        return MemoryShadowStore
    return lambda: SqliteShadowStore(tmp_path / "shadow.sqlite3")


def record(event_id: str, at: float, *differences: FieldDifference, **kw: object) -> ShadowRecord:
    return ShadowRecord(
        "braze",
        event_id,
        "order_completed",
        not differences,
        at,
        tuple(differences),
        **kw,  # type: ignore[arg-type]
    )


def test_records_are_listed_oldest_first(make: Make) -> None:
    store = make()
    store.record(record("b", 2.0))
    store.record(record("a", 1.0))
    assert [r.event_id for r in store.list("braze")] == ["a", "b"]


def test_recording_an_event_again_replaces_its_record(make: Make) -> None:
    store = make()
    store.record(record("a", 1.0, FieldDifference("x", "changed", 1, 2)))
    store.record(record("a", 3.0))
    (only,) = store.list("braze")
    assert only.matched and only.recorded_at == 3.0


def test_since_keeps_only_later_records(make: Make) -> None:
    store = make()
    store.record(record("a", 1.0))
    store.record(record("b", 5.0))
    assert [r.event_id for r in store.list("braze", since=2.0)] == ["b"]


def test_integrations_lists_each_integration_once(make: Make) -> None:
    store = make()
    store.record(record("a", 1.0))
    store.record(record("b", 1.0))
    assert store.integrations() == ["braze"]


def test_a_record_survives_the_round_trip_whole(make: Make) -> None:
    store = make()
    original = record(
        "a",
        1.0,
        FieldDifference("data[0].value", "changed", 10, 11),
        direct_mapping_version=2,
        bus_mapping_version=3,
        extra={"source": "shopify"},
    )
    store.record(original)
    assert store.list("braze") == [original]


def test_personal_data_and_hashes_are_masked_before_they_are_stored(make: Make) -> None:
    store = make()
    digest = "a" * 64
    store.record(
        record(
            "a",
            1.0,
            FieldDifference("user.email", "changed", "x@example.com", "y@example.com"),
            FieldDifference("data[0].user_data.em", "changed", digest, "b" * 64),
            FieldDifference("note", "changed", "call +44 20 7946 0958", "n/a"),
            FieldDifference("value", "changed", 10, 11),
        )
    )
    (stored,) = store.list("braze")
    shown = [(d.direct, d.bus) for d in stored.differences]
    assert shown == [(MASK, MASK), (MASK, MASK), (MASK, "n/a"), (10, 11)]


def test_the_setting_chooses_the_backend(tmp_path: Path) -> None:
    assert isinstance(shadow_store("memory"), MemoryShadowStore)
    assert isinstance(shadow_store(f"sqlite:{tmp_path / 's.db'}"), SqliteShadowStore)
