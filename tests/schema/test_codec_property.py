"""Properties over generated data for every catalogue schema.

Our codec must write exactly fastavro's bytes (the reference the generated
encoder of issue 5 will be held to), decode them back unchanged, and the
validator must accept any datum-form event as is.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.registry import RegisteredSchema
from martech_bus.schema.validate import validator_for
from tests.schema.events import catalogue, datum_strategy

ENTRIES = list(catalogue())
IDS = [f"{e.subject}-v{e.version}" for e in ENTRIES]
PROPERTY = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def fastavro_bytes(entry: RegisteredSchema, datum: dict[str, Any]) -> bytes:
    from fastavro import schemaless_writer

    buffer = BytesIO()
    schemaless_writer(buffer, entry.parsed, datum)
    return buffer.getvalue()


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@PROPERTY
@given(data=st.data())
def test_our_bytes_equal_fastavro_bytes_and_decode_back_equal(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    datum = data.draw(datum_strategy(entry))
    codec = AvroCodec(catalogue())
    body = codec.encode_body(datum, entry.subject, entry.version)

    assert body == fastavro_bytes(entry, datum)
    assert codec.decode_body(body, entry.subject, entry.version) == datum


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@PROPERTY
@given(data=st.data())
def test_the_validator_returns_any_datum_form_event_unchanged(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    datum = data.draw(datum_strategy(entry))
    datum.update(event_type=entry.subject, schema_version=entry.version, user_id="u-1")

    assert validator_for(entry).validate(datum) == datum
