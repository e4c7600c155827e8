"""Datum form <-> JSON with type tags: exact round trips, for catalogue events and odd keys."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from martech_bus import typed_json
from martech_bus.schema.registry import RegisteredSchema
from martech_bus.schema.validate import validator_for
from tests.schema.events import catalogue, datum_strategy

ENTRIES = [catalogue().latest(subject) for subject in catalogue().subjects()]


def round_trip(value: Any) -> Any:
    data, tags = typed_json.dump(value)
    text = json.dumps({"data": data, "tags": tags})  # really through JSON text
    loaded = json.loads(text)
    return typed_json.load(loaded["data"], loaded["tags"])


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.subject for e in ENTRIES])
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_any_catalogue_event_round_trips_and_its_json_still_validates(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    datum = data.draw(datum_strategy(entry))
    datum.update(event_type=entry.subject, schema_version=entry.version, user_id="u-1")
    assert round_trip(datum) == datum
    plain, tags = typed_json.dump(datum)
    if "bytes" not in tags.values():  # the validator takes bytes as bytes only
        assert validator_for(entry).validate(json.loads(json.dumps(plain))) == datum


def test_keys_that_look_like_pointers_and_every_tag_survive() -> None:
    value = {
        "a/b": {"~c": [Decimal("1.50"), b"\x00"]},
        "": datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "d": date(2024, 1, 2),
        "t": time(3, 4, 5),
        "u": uuid.UUID(int=1),
        "nested": [[{"x": Decimal("-0")}]],
    }
    assert round_trip(value) == value
    _, tags = typed_json.dump(value)
    assert tags["/a~1b/~0c/0"] == "decimal"
    assert tags["/"] == "datetime"  # the empty key


def test_a_tagged_top_level_value_round_trips() -> None:
    assert round_trip(Decimal("2.10")) == Decimal("2.10")
    assert typed_json.dump([1, "x", None, True]) == ([1, "x", None, True], {})


@pytest.mark.parametrize(
    "value, message",
    [
        ({"x": float("nan")}, "nan at /x has no JSON form"),
        ({"x": Decimal("Infinity")}, "Infinity at /x has no JSON form"),
        ({"x": {1: "a"}}, "int key at /x has no JSON form"),
        ({"x": {1, 2}}, "set value at /x has no JSON form"),
    ],
)
def test_values_without_a_json_form_are_refused_with_their_path(value: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        typed_json.dump(value)


def test_an_unknown_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown type tag 'complex' at /x"):
        typed_json.load({"x": "1+2j"}, {"/x": "complex"})
