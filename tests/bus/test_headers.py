"""CloudEvents binary-mode headers: times, sources, and what is optional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from martech_bus.bus.headers import HeaderBuilder, header_dict, rfc3339


def builder(**options: object) -> HeaderBuilder:
    return HeaderBuilder(
        event_type="order_completed",
        subject="order_completed",
        version=2,
        fingerprint="ab" * 32,
        **options,  # type: ignore[arg-type]
    )


def datum(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "6f1c2b9e-4d3a-4e8f-9a51-2c7d0b8e1f34",
        "source": "web",
        "occurred_at": datetime(2026, 11, 20, 14, 3, 11, 250_000, tzinfo=UTC),
        "traceparent": None,
    }
    return {**base, **fields}


def test_rfc3339_writes_utc_with_a_z_and_milliseconds() -> None:
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def test_rfc3339_keeps_microseconds_when_there_are_any() -> None:
    assert (
        rfc3339(datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)) == "2026-01-02T03:04:05.678901Z"
    )


def test_rfc3339_converts_other_offsets_to_utc() -> None:
    moment = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))

    assert rfc3339(moment) == "2026-01-02T03:04:05.000Z"


def test_an_event_without_traceparent_gets_no_traceparent_header() -> None:
    headers = header_dict(builder().build(datum()))

    assert "traceparent" not in headers
    assert headers["ce_time"] == "2026-11-20T14:03:11.250Z"


def test_integration_and_mapping_version_headers_are_absent_unless_given() -> None:
    plain = header_dict(builder().build(datum()))
    named = header_dict(builder(integration="braze", mapping_version=4).build(datum()))

    assert "martech_integration" not in plain and "martech_mapping_version" not in plain
    assert (named["martech_integration"], named["martech_mapping_version"]) == ("braze", "4")


def test_the_prefixes_come_from_the_bus_config() -> None:
    headers = header_dict(
        builder(source_prefix="urn:shop:", type_prefix="com.shop.").build(datum())
    )

    assert (headers["ce_source"], headers["ce_type"]) == (
        "urn:shop:web",
        "com.shop.order_completed",
    )
