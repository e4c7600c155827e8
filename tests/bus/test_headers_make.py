"""HeaderBuilder.make: the publisher's fused path builds headers from datum values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from martech_bus.bus.headers import HeaderBuilder, rfc3339
from martech_bus.schema.validate import to_utc

BUILDER = HeaderBuilder(
    event_type="order_completed", subject="order_completed", version=2, fingerprint="ab" * 32
)
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


def _texts(moment: datetime) -> list[str]:
    plus2 = moment.astimezone(timezone(timedelta(hours=2)))
    iso = moment.isoformat()
    return [
        iso,
        iso.replace("+00:00", "Z"),
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        moment.isoformat(" ", timespec="milliseconds").replace("+00:00", "Z"),
        moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        plus2.isoformat(timespec="milliseconds"),
        moment.strftime("%Y%m%dT%H%M%S.") + f"{moment.microsecond // 1000:03d}Z",
    ]


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(moment=MOMENTS)
def test_the_received_text_of_occurred_at_gives_the_header_rfc3339_would_write(
    moment: datetime,
) -> None:
    for text in _texts(moment):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            continue
        datum = to_utc(parsed, 1000)  # what validation makes of it (timestamp-millis)
        assert datum is not None

        made = dict(BUILDER.make("id", "web", datum, None, text))

        assert made["ce_time"] == rfc3339(datum).encode(), text


def test_make_builds_what_build_builds() -> None:
    moment = datetime(2026, 11, 20, 14, 3, 11, 250_000, tzinfo=UTC)
    datum = {
        "event_id": "e-1",
        "source": "shop floor/2",
        "occurred_at": moment,
        "traceparent": "00-ab-cd-01",
    }

    made = BUILDER.make("e-1", "shop floor/2", moment, "00-ab-cd-01", "2026-11-20T14:03:11.250Z")

    assert list(made) == BUILDER.build(datum)
