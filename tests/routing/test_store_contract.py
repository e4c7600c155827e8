"""The flag store contract: every writable backend (memory, yaml, ssm) behaves the same."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from martech_bus.errors import ConfigError
from martech_bus.routing.audit import ROLLBACK, SET
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.store import FlagConflictError, FlagStore
from martech_bus.testing.clock import FakeTime
from tests.routing.conftest import MakeStore

DIRECT = Setting(RouteMode.DIRECT)
DUAL = Setting(RouteMode.DUAL)
BUS = Setting(RouteMode.BUS)
DUAL_TO_BUS = Setting(RouteMode.DUAL, RouteMode.BUS, 25)


def count_reads(store: FlagStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reads: list[str] = []
    original = store._read

    def counting(integration: str) -> Any:
        reads.append(integration)
        return original(integration)

    monkeypatch.setattr(store, "_read", counting)
    return reads


def test_an_integration_without_a_flag_reads_as_none(make_store: MakeStore) -> None:
    assert make_store().get("braze") is None


def test_a_flip_is_read_back_with_its_metadata(make_store: MakeStore) -> None:
    store = make_store()
    store.set(
        "braze",
        DUAL_TO_BUS,
        reason="start the bus rollout",
        owner="crm-engineering",
        expires_on=date(2027, 1, 31),
    )
    flag = make_store().get("braze")
    assert flag is not None
    assert flag.setting == DUAL_TO_BUS
    assert (flag.owner, flag.expires_on, flag.reason) == (
        "crm-engineering",
        date(2027, 1, 31),
        "start the bus rollout",
    )


def test_every_flip_raises_the_version(make_store: MakeStore) -> None:
    store = make_store()
    first = store.set("braze", DIRECT, reason="adopt")
    second = store.set("braze", DUAL, reason="publish too")
    assert second.version > first.version >= 1
    assert make_store().get("braze") == second


def test_a_flip_keeps_the_other_flags(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DIRECT, reason="adopt")
    store.set("web:meta_capi", BUS, reason="adopt")
    store.set("braze", DUAL, reason="publish too")
    flags = {flag.integration: flag.setting for flag in make_store().list()}
    assert flags == {"braze": DUAL, "web:meta_capi": BUS}


def test_list_is_sorted_by_integration(make_store: MakeStore) -> None:
    store = make_store()
    for name in ("klaviyo", "braze", "web:braze"):
        store.set(name, DIRECT, reason="adopt")
    assert [flag.integration for flag in store.list()] == ["braze", "klaviyo", "web:braze"]


def test_owner_and_end_date_stay_unless_given(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DUAL, reason="a", owner="crm", expires_on=date(2027, 1, 31))
    kept = store.set("braze", BUS, reason="b")
    cleared = store.set("braze", BUS, reason="c", expires_on=None)
    assert (kept.owner, kept.expires_on) == ("crm", date(2027, 1, 31))
    assert (cleared.owner, cleared.expires_on) == ("crm", None)


def test_a_flip_without_a_reason_is_refused(make_store: MakeStore) -> None:
    store = make_store()
    with pytest.raises(ConfigError, match="needs a reason"):
        store.set("braze", BUS, reason="  ")
    assert store.get("braze") is None


def test_an_invalid_integration_name_is_refused(make_store: MakeStore) -> None:
    with pytest.raises(ConfigError, match="not an integration name"):
        make_store().set("Braze", BUS, reason="x")


def test_a_flip_from_a_stale_read_is_refused_and_the_other_flip_kept(
    make_store: MakeStore,
) -> None:
    mine, theirs = make_store(), make_store()
    seen = mine.set("braze", DIRECT, reason="adopt")
    theirs.set("braze", BUS, reason="their flip", expected_version=seen.version)
    with pytest.raises(FlagConflictError, match="braze"):
        mine.set("braze", DUAL, reason="my flip", expected_version=seen.version)
    flag = make_store().get("braze")
    assert flag is not None and flag.setting == BUS


def test_creating_a_flag_that_exists_meanwhile_is_refused(make_store: MakeStore) -> None:
    make_store().set("braze", BUS, reason="their flip")
    with pytest.raises(FlagConflictError):
        make_store().set("braze", DUAL, reason="mine", expected_version=0)


def test_every_flip_is_audited_with_who_when_from_to_and_why(
    make_store: MakeStore, fake_time: FakeTime
) -> None:
    store = make_store()
    store.set("braze", DIRECT, reason="adopt", who="ana")
    fake_time.advance(60)
    store.set("braze", DUAL_TO_BUS, reason="start the rollout", who="ben")
    newest = store.history("braze")[0]
    assert newest.who == "ben"
    assert newest.at.timestamp() == fake_time.now
    assert (newest.before, newest.after) == (DIRECT, DUAL_TO_BUS)
    assert newest.reason == "start the rollout"
    assert newest.action == SET


def test_who_defaults_to_the_user(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DIRECT, reason="adopt")
    assert store.history("braze")[0].who == "tester"


def test_rollback_restores_the_previous_setting_and_is_audited(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DUAL, reason="adopt")
    store.set("braze", BUS, reason="go")
    restored = store.rollback("braze", who="ana")
    assert restored.setting == DUAL
    entry = store.history("braze")[0]
    assert (entry.action, entry.before, entry.after, entry.who) == (ROLLBACK, BUS, DUAL, "ana")
    assert entry.undoes == store.history("braze")[1].id


def test_rollbacks_stack_instead_of_toggling(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DIRECT, reason="adopt")
    store.set("braze", DUAL, reason="step 1")
    store.set("braze", BUS, reason="step 2")
    store.rollback("braze")
    assert store.rollback("braze").setting == DIRECT


def test_rollback_without_a_recorded_flip_is_refused(make_store: MakeStore) -> None:
    with pytest.raises(ConfigError, match="no recorded flip"):
        make_store().rollback("braze")


def test_rollback_of_the_flip_that_created_the_flag_is_refused(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", BUS, reason="adopt")
    with pytest.raises(ConfigError, match="created the flag"):
        store.rollback("braze")


def test_the_source_specific_flag_wins_over_the_vendor_flag(make_store: MakeStore) -> None:
    store = make_store()
    store.set("braze", DUAL, reason="adopt")
    store.set("shopify:braze", BUS, reason="shopify first")
    event = {"event_id": "e-1", "source": "shopify", "user_id": "u-1"}
    assert store.decide("braze", event).mode is RouteMode.BUS
    assert store.decide("braze", {**event, "source": "web"}).mode is RouteMode.DUAL


def test_a_read_within_the_ttl_does_not_hit_the_backend(
    make_store: MakeStore, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store().set("braze", DUAL, reason="adopt")
    store = make_store(ttl=30)
    reads = count_reads(store, monkeypatch)
    store.get("braze")
    fake_time.advance(29)
    store.get("braze")
    assert reads == ["braze"]


def test_a_read_after_the_ttl_sees_a_flip_from_elsewhere(
    make_store: MakeStore, fake_time: FakeTime
) -> None:
    make_store().set("braze", DUAL, reason="adopt")
    store = make_store(ttl=30)
    assert store.decide("braze", {"event_id": "e-1"}).mode is RouteMode.DUAL
    make_store().set("braze", BUS, reason="go")
    assert store.decide("braze", {"event_id": "e-1"}).mode is RouteMode.DUAL  # cached
    fake_time.advance(30)
    assert store.decide("braze", {"event_id": "e-1"}).mode is RouteMode.BUS


def test_a_missing_flag_is_cached_too(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(ttl=30)
    reads = count_reads(store, monkeypatch)
    for _ in range(3):
        store.decide("braze", {"event_id": "e-1", "source": "web"})
    assert sorted(reads) == ["braze", "web:braze"]


def test_a_flip_through_the_store_is_seen_at_once_by_that_store(make_store: MakeStore) -> None:
    store = make_store(ttl=30)
    store.set("braze", DUAL, reason="adopt")
    assert store.get("braze") is not None
    store.set("braze", BUS, reason="go")
    flag = store.get("braze")
    assert flag is not None and flag.setting == BUS
