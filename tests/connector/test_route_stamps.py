"""The connector acts on the route stamp a record was published with (scripted consumer)."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.routing.modes import RouteMode
from martech_bus.routing.stamp import DirectResult, RouteStamp
from martech_bus.shadow.report import shadow_report
from martech_bus.shadow.store import MemoryShadowStore
from tests.connector.conftest import World
from tests.connector.fakes import FakeConsumer
from tests.connector.helpers import Vendor, order
from tests.connector.test_connector_logic import P0, connector_on, frames  # noqa: F401 - fixture

VENDOR = "meta_capi"


def stamped(fake: FakeConsumer, value: bytes, mode: RouteMode | None, **direct: Any) -> None:
    message = fake.append(*P0, value)
    if mode is not None:
        results = {VENDOR: DirectResult(**direct)} if direct else {}
        message._headers = RouteStamp({VENDOR: mode}, results).headers()


def run(offline: World, fake: FakeConsumer, count: int, shadow: MemoryShadowStore | None = None):  # type: ignore[no-untyped-def]
    runtime = offline.runtime()
    if shadow is not None:
        runtime.__dict__["shadow"] = shadow  # the cached_property's slot
    return connector_on(offline, fake, runtime=runtime).run(max_messages=count)


def test_a_record_without_a_stamp_is_delivered(offline: World, vendor: Vendor, frames: Any) -> None:  # noqa: F811
    fake = FakeConsumer()
    stamped(fake, frames(0), None)
    stats = run(offline, fake, 1)
    assert stats.delivered == 1 and vendor.distinct() == 1


def test_a_record_stamped_bus_is_delivered(offline: World, vendor: Vendor, frames: Any) -> None:  # noqa: F811
    fake = FakeConsumer()
    stamped(fake, frames(0), RouteMode.BUS)
    assert run(offline, fake, 1).delivered == 1
    assert vendor.distinct() == 1


@pytest.mark.parametrize("mode", [RouteMode.DUAL, RouteMode.DIRECT])
def test_a_record_the_direct_path_delivers_is_skipped_and_committed(
    offline: World,
    vendor: Vendor,
    frames: Any,  # noqa: F811
    mode: RouteMode,
) -> None:
    fake = FakeConsumer()
    stamped(fake, frames(0), mode)
    stats = run(offline, fake, 1)
    assert stats.skipped == 1 and vendor.requests == 0
    assert fake.committed == {P0: 1}


def test_a_record_published_for_other_vendors_only_is_skipped(
    offline: World,
    vendor: Vendor,
    frames: Any,  # noqa: F811
) -> None:
    fake = FakeConsumer()
    message = fake.append(*P0, frames(0))
    message._headers = RouteStamp({"braze": RouteMode.BUS}, {}).headers()
    assert run(offline, fake, 1).skipped == 1
    assert vendor.requests == 0


def test_shadow_mode_renders_diffs_and_records_without_sending(
    offline: World,
    vendor: Vendor,
    frames: Any,  # noqa: F811
) -> None:
    fake = FakeConsumer()
    stamped(
        fake,
        frames(0),
        RouteMode.SHADOW,
        payload={"event_id": "not what the bus renders"},
        mapping_version=1,
    )
    shadow = MemoryShadowStore()
    stats = run(offline, fake, 1, shadow)
    assert stats.shadowed == 1 and vendor.requests == 0
    assert fake.committed == {P0: 1}
    report = shadow_report(shadow, VENDOR)
    assert report.compared == 1 and report.matched == 0
    assert {p.path for p in report.paths} >= {"event_id", "event_name"}


def test_shadow_mode_matches_when_the_direct_payload_is_the_same(
    offline: World,
    vendor: Vendor,
    frames: Any,  # noqa: F811
) -> None:
    # What the direct path would have made of the same event: the same adapter's mapping.
    from martech_bus.schema.validate import validate_event
    from martech_bus.shadow.compare import jsonable

    runtime = offline.runtime()
    adapter = runtime.adapter(VENDOR)
    _, datum = validate_event(runtime.registry, order(0))
    payload = jsonable(adapter.mapping_for("order_completed")(datum))
    version = adapter.manifest.mappings["order_completed"]
    fake = FakeConsumer()
    stamped(fake, frames(0), RouteMode.SHADOW, payload=payload, mapping_version=version)
    shadow = MemoryShadowStore()
    run(offline, fake, 1, shadow)
    report = shadow_report(shadow, VENDOR)
    assert report.match_rate == 1.0, report.as_dict()


def test_a_shadow_store_that_fails_holds_the_record_for_a_retry(
    offline: World,
    vendor: Vendor,
    frames: Any,  # noqa: F811
) -> None:
    class Broken(MemoryShadowStore):
        calls = 0

        def _put(self, record: Any) -> None:
            Broken.calls += 1
            if Broken.calls == 1:
                raise OSError("disk full")
            super()._put(record)

    fake = FakeConsumer()
    stamped(fake, frames(0), RouteMode.SHADOW, payload={}, mapping_version=1)
    shadow = Broken()
    stats = run(offline, fake, 1, shadow)
    assert stats.shadowed == 1 and stats.retried == 1
    assert len(shadow.list(VENDOR)) == 1
