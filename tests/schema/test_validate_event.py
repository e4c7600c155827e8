"""Envelope rules, validate_event (schema choice, clock, filling) and validator caching."""

from __future__ import annotations

import copy
import dataclasses
import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from martech_bus.errors import Problem, ValidationError
from martech_bus.schema.validate import EventValidator, validate_event, validator_for
from tests.schema.events import EVENT_ID, catalogue, order_completed_json, sample_event

CLOCK = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def clock() -> datetime:
    return CLOCK


def rejected(event: Any, validator: EventValidator | None = None) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        if validator is None:
            validate_event(catalogue(), event, now=clock)
        else:
            validator.validate(event)
    return caught.value.problems


def order_v2() -> EventValidator:
    return validator_for(catalogue().get("order_completed", 2))


# -- envelope rules ----------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_an_event_needs_a_user_id_or_an_anonymous_id(blank: str | None) -> None:
    [problem] = rejected(order_completed_json(user_id=blank, anonymous_id=blank), order_v2())

    assert problem.location.path == "user_id"
    assert problem.message == "an event needs a non-empty user_id or anonymous_id"


def test_an_anonymous_id_alone_identifies_the_event() -> None:
    datum = order_v2().validate(order_completed_json(user_id=None, anonymous_id="anon-7"))

    assert datum["anonymous_id"] == "anon-7"


def test_event_type_must_equal_the_subject() -> None:
    [problem] = rejected(order_completed_json(event_type="order_complete"), order_v2())

    assert problem.location.path == "event_type"
    assert (
        problem.message
        == "event_type is 'order_complete' but the schema's subject is 'order_completed'"
    )


def test_schema_version_must_equal_the_version() -> None:
    [problem] = rejected(order_completed_json(schema_version=1), order_v2())

    assert problem.location.path == "schema_version"
    assert problem.message == "schema_version is 1 but the schema's version is 2"


def test_a_validator_without_subject_and_version_does_not_compare_them() -> None:
    validator = EventValidator(catalogue().get("order_completed", 2).schema)
    event = order_completed_json(event_type="anything", schema_version=9)

    assert validator.validate(event)["event_type"] == "anything"


def test_the_validator_for_an_entry_is_compiled_once() -> None:
    entry = catalogue().get("order_completed", 2)

    assert validator_for(entry) is validator_for(entry)
    assert validator_for(catalogue().get("order_completed", 1)) is not validator_for(entry)


def test_entries_with_one_fingerprint_but_different_attributes_get_their_own_validator() -> None:
    # The Parsing Canonical Form, hence the fingerprint, ignores "format" and logicalType.
    entry = catalogue().get("product_viewed")
    schema = copy.deepcopy(entry.schema)
    [properties] = [f for f in schema["fields"] if f["name"] == "properties"]
    [currency] = [f for f in properties["type"]["fields"] if f["name"] == "currency"]
    del currency["format"]
    twin = dataclasses.replace(entry, schema=schema)
    event = sample_event(entry)
    event["properties"]["currency"] = "XYZ"

    assert twin.fingerprints == entry.fingerprints
    assert validator_for(twin).validate(event)["properties"]["currency"] == "XYZ"
    with pytest.raises(ValidationError, match="ISO 4217"):
        validator_for(entry).validate(event)


def test_a_validator_is_released_with_its_entry() -> None:
    entry = dataclasses.replace(catalogue().get("page_viewed"))
    validator = weakref.ref(validator_for(entry))
    del entry
    gc.collect()

    assert validator() is None


# -- validate_event ----------------------------------------------------------------------------


def test_validate_event_takes_the_latest_version_and_fills_received_at_and_schema_version() -> None:
    event = order_completed_json()
    del event["received_at"], event["schema_version"]
    entry, datum = validate_event(catalogue(), event, now=clock)

    assert (entry.subject, entry.version) == ("order_completed", 2)
    assert datum["received_at"] == CLOCK
    assert datum["schema_version"] == 2


def test_validate_event_keeps_a_given_received_at() -> None:
    _, datum = validate_event(catalogue(), order_completed_json(), now=clock)

    assert datum["received_at"] == datetime(2024, 5, 17, 9, 30, 13, tzinfo=UTC)


def test_validate_event_defaults_to_the_utc_clock() -> None:
    _, datum = validate_event(catalogue(), order_completed_json(received_at=None))

    assert abs(datum["received_at"] - datetime.now(UTC)) < timedelta(seconds=10)


def test_validate_event_uses_the_requested_version() -> None:
    event = order_completed_json(schema_version=1)
    [problem] = rejected(event)

    assert problem.location.version == 1
    assert problem.location.path == "properties.shipping_method"
    assert problem.message.startswith("unknown field 'shipping_method'")


def test_validate_event_does_not_modify_its_input() -> None:
    event = order_completed_json()
    del event["received_at"]
    validate_event(catalogue(), event, now=clock)

    assert "received_at" not in event


def test_validate_event_needs_an_event_type() -> None:
    event = order_completed_json()
    del event["event_type"]
    [problem] = rejected(event)

    assert (problem.location.path, problem.message) == (
        "event_type",
        "missing required field 'event_type'",
    )
    assert problem.location.event_id == EVENT_ID


def test_validate_event_names_an_unknown_event_type_with_a_hint() -> None:
    [problem] = rejected(order_completed_json(event_type="order_complete"))

    assert problem.location.path == "event_type"
    assert "unknown event type 'order_complete'; did you mean 'order_completed'?" in problem.message


@pytest.mark.parametrize(
    ("version", "expected"), [(7, "unknown version 7"), ("2", "expected int, got str '2'")]
)
def test_validate_event_rejects_an_unknown_or_malformed_version(
    version: Any, expected: str
) -> None:
    [problem] = rejected(order_completed_json(schema_version=version))

    assert problem.location.path == "schema_version"
    assert problem.message.startswith(expected)


def test_validate_event_rejects_a_non_object() -> None:
    with pytest.raises(ValidationError, match="an event must be a JSON object, got str"):
        validate_event(catalogue(), "order_completed")  # type: ignore[arg-type]
