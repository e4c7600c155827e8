"""EventValidator: coercion into datum form and every rejection rule, with paths and messages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from martech_bus.errors import Problem, SchemaError, ValidationError
from martech_bus.schema.validate import EventValidator, validator_for
from tests.schema.events import EVENT_ID, catalogue, order_completed_json, sample_event


def order_validator() -> EventValidator:
    return validator_for(catalogue().get("order_completed", 2))


def field_validator(*fields: dict[str, Any]) -> EventValidator:
    """A validator for a one-off record with ``fields`` (no envelope rules)."""
    return EventValidator({"type": "record", "name": "T", "fields": list(fields)})


def problems(validator: EventValidator, event: Any) -> list[Problem]:
    with pytest.raises(ValidationError) as caught:
        validator.validate(event)
    return caught.value.problems


def only_problem(validator: EventValidator, event: Any) -> tuple[str | None, str]:
    found = problems(validator, event)
    assert len(found) == 1, [str(p) for p in found]
    return found[0].location.path, found[0].message


def with_properties(**changes: Any) -> dict[str, Any]:
    event = order_completed_json()
    event["properties"] = {**event["properties"], **changes}
    return event


def with_product(**changes: Any) -> dict[str, Any]:
    event = order_completed_json()
    products = [dict(p) for p in event["properties"]["products"]]
    products[1].update(changes)
    event["properties"] = {**event["properties"], "products": products}
    return event


# -- valid events ------------------------------------------------------------------------------


def test_a_full_order_completed_event_becomes_datum_form() -> None:
    datum = order_validator().validate(order_completed_json())

    assert datum["occurred_at"] == datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=UTC)
    assert datum["received_at"] == datetime(2024, 5, 17, 9, 30, 13, tzinfo=UTC)
    assert datum["received_at"].tzinfo is UTC
    props = datum["properties"]
    assert (props["total"], props["tax"], props["shipping"]) == (
        Decimal("59.9700"),
        Decimal("9.5700"),
        Decimal("4.0000"),
    )
    assert str(props["total"]) == "59.9700"
    assert props["products"][0]["price"] == Decimal("12.9900")
    assert props["subtotal"] is None and props["products"][0]["sku"] is None
    assert datum["anonymous_id"] is None and datum["traceparent"] is None
    assert datum["context"]["device"] is None
    assert datum["context"]["page"]["referrer"] is None
    assert list(datum) == [
        f["name"] for f in catalogue().get("order_completed", 2).schema["fields"]
    ]


def test_a_datum_form_event_validates_to_an_equal_datum() -> None:
    datum = order_validator().validate(order_completed_json())

    assert order_validator().validate(datum) == datum


@pytest.mark.parametrize("entry", list(catalogue()), ids=lambda e: f"{e.subject}-v{e.version}")
def test_every_catalogue_schema_accepts_its_sample_event(entry: Any) -> None:
    event = sample_event(entry)

    assert validator_for(entry).validate(event) == event


def test_absent_fields_take_their_defaults_as_fresh_copies() -> None:
    event = order_completed_json()
    del event["consent"]
    first = order_validator().validate(event)
    first["consent"]["marketing"] = True

    assert order_validator().validate(event)["consent"] == {}


def test_the_input_event_is_not_modified() -> None:
    event = order_completed_json()
    before = repr(event)
    order_validator().validate(event)

    assert repr(event) == before


# -- structure ---------------------------------------------------------------------------------


def test_a_non_object_event_is_rejected() -> None:
    with pytest.raises(ValidationError, match="an event must be a JSON object, got list"):
        order_validator().validate([1, 2])  # type: ignore[arg-type]


def test_a_wrong_type_names_the_expected_type_and_the_value() -> None:
    path, message = only_problem(order_validator(), with_properties(order_id=42))

    assert path == "properties.order_id"
    assert message == "expected string, got int 42"


def test_a_record_given_a_list_names_the_record() -> None:
    path, message = only_problem(order_validator(), order_completed_json(context=["x"]))

    assert path == "context"
    assert message == "expected record Context (an object), got list ['x']"


def test_a_missing_required_field_is_named() -> None:
    event = with_product()
    del event["properties"]["products"][1]["name"]

    assert only_problem(order_validator(), event) == (
        "properties.products[1].name",
        "missing required field 'name'",
    )


def test_an_unknown_field_suggests_the_closest_missing_field() -> None:
    event = with_properties(totl="1.00")
    del event["properties"]["total"]
    found = {(p.location.path, p.message) for p in problems(order_validator(), event)}

    assert found == {
        ("properties.total", "missing required field 'total'"),
        ("properties.totl", "unknown field 'totl' (did you mean 'total'?)"),
    }


def test_an_unknown_field_without_a_close_name_has_no_hint() -> None:
    path, message = only_problem(order_validator(), order_completed_json(zzz=1))

    assert (path, message) == ("zzz", "unknown field 'zzz'")


def test_a_long_offending_value_is_truncated() -> None:
    _, message = only_problem(order_validator(), with_properties(order_id=["x" * 500] * 50))

    assert message.startswith("expected string, got list ['xxxx")
    assert len(message) < 200


def test_all_problems_are_reported_together() -> None:
    event = with_product(price="1.23456", quantity=True)
    event["properties"]["currency"] = "EURO"
    event.update(occurred_at="2024-05-17T09:30:12", user_id=None, source=None, extra=1)
    found = {p.location.path for p in problems(order_validator(), event)}

    assert found == {
        "occurred_at",
        "source",
        "user_id",
        "extra",
        "properties.currency",
        "properties.products[1].price",
        "properties.products[1].quantity",
    }


def test_problems_carry_the_schema_version_and_event_id() -> None:
    [problem] = problems(order_validator(), with_properties(order_id=1))

    assert problem.location.schema == "order_completed"
    assert problem.location.version == 2
    assert problem.location.event_id == EVENT_ID
    assert str(problem).startswith(f"schema order_completed v2, event {EVENT_ID}, at properties")


def test_an_unreadable_event_id_leaves_the_location_without_one() -> None:
    found = problems(order_validator(), order_completed_json(event_id=7))

    assert found[0].location.path == "event_id"
    assert found[0].location.event_id is None


def test_unhashable_values_are_reported_not_raised() -> None:
    validator = field_validator(
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}},
        {"name": "c", "type": "string", "format": "iso4217"},
    )
    found = problems(validator, {"e": ["A"], "c": {"EUR": 1}})

    assert [p.location.path for p in found] == ["e", "c"]


def test_a_non_record_schema_is_refused() -> None:
    with pytest.raises(SchemaError, match="must be a record"):
        EventValidator({"type": "array", "items": "string"})


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [("int", 2**31), ("int", -(2**31) - 1), ("long", 2**63), ("long", -(2**63) - 1)],
)
def test_an_integer_out_of_range_is_rejected(kind: str, value: int) -> None:
    path, message = only_problem(field_validator({"name": "n", "type": kind}), {"n": value})

    assert path == "n"
    assert message.startswith(f"{value} is out of range for {kind} (")


def test_an_out_of_range_quantity_names_its_product() -> None:
    path, message = only_problem(order_validator(), with_product(quantity=2**40))

    assert path == "properties.products[1].quantity"
    assert "out of range for int" in message


@pytest.mark.parametrize("kind", ["int", "long", "float", "double"])
def test_a_boolean_is_not_a_number(kind: str) -> None:
    _, message = only_problem(field_validator({"name": "n", "type": kind}), {"n": True})

    assert message == f"expected {kind}, got bool True"


def test_a_boolean_is_not_a_decimal() -> None:
    _, message = only_problem(order_validator(), with_properties(total=False))

    assert message.startswith("expected decimal(18,4) (a Decimal, int, numeric string or float)")


@pytest.mark.parametrize("kind", ["float", "double"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_rejected_for_floats(kind: str, value: float) -> None:
    _, message = only_problem(field_validator({"name": "x", "type": kind}), {"x": value})

    assert message == f"{kind} must be a finite number, got float {value!r}"


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), "NaN", "Infinity", Decimal("-Inf")])
def test_nan_and_infinity_are_rejected_for_decimals(value: Any) -> None:
    path, message = only_problem(order_validator(), with_properties(total=value))

    assert path == "properties.total"
    assert message.startswith("decimal(18,4) must be a finite number, got")


def test_an_int_is_accepted_as_a_double_and_a_float_beyond_float32_is_not() -> None:
    validator = field_validator({"name": "d", "type": "double"}, {"name": "f", "type": "float"})

    assert validator.validate({"d": 3, "f": 1.5}) == {"d": 3.0, "f": 1.5}
    assert only_problem(validator, {"d": 1.0, "f": 1e39}) == (
        "f",
        "1e+39 is out of range for float",
    )


def test_an_int_beyond_a_doubles_range_is_out_of_range() -> None:
    validator = field_validator({"name": "d", "type": "double"})

    path, message = only_problem(validator, {"d": 10**400})

    assert path == "d" and "out of range for double" in message


# -- decimals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [Decimal("19.99"), "19.99", " 19.990 ", 19.99, "1.999e1"])
def test_decimals_accept_decimal_numeric_string_and_float(value: Any) -> None:
    datum = order_validator().validate(with_properties(total=value))

    assert str(datum["properties"]["total"]) == "19.9900"


def test_an_int_decimal_gets_the_schema_scale() -> None:
    datum = order_validator().validate(with_properties(total=20))

    assert str(datum["properties"]["total"]) == "20.0000"


def test_a_decimal_with_more_fractional_digits_than_the_scale_is_rejected_not_rounded() -> None:
    path, message = only_problem(order_validator(), with_product(price=0.12345))

    assert path == "properties.products[1].price"
    assert message == "0.12345 has more than 4 fractional digits (decimal(18,4)); not rounding"


def test_trailing_zeros_beyond_the_scale_lose_nothing_and_are_accepted() -> None:
    datum = order_validator().validate(with_properties(total="1.230000"))

    assert str(datum["properties"]["total"]) == "1.2300"


def test_a_decimal_beyond_the_precision_is_rejected() -> None:
    _, message = only_problem(order_validator(), with_properties(total="123456789012345"))

    assert message == "123456789012345 exceeds decimal(18,4): at most 14 integer digits"


@pytest.mark.parametrize("value", ["1_000", "12,50", "abc", ""])
def test_a_non_numeric_string_is_not_a_decimal(value: str) -> None:
    _, message = only_problem(order_validator(), with_properties(total=value))

    assert (
        message
        == f"expected decimal(18,4) (a Decimal, int, numeric string or float), got str {value!r}"
    )


# -- timestamps --------------------------------------------------------------------------------

MOMENT = datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        MOMENT,
        MOMENT.astimezone(timezone(timedelta(hours=-5))),
        "2024-05-17T09:30:12.345Z",
        "2024-05-17T11:30:12.345+02:00",
        1715938212345,
    ],
    ids=["utc", "other-offset", "iso-z", "iso-offset", "epoch-millis"],
)
def test_timestamps_accept_aware_datetimes_iso_strings_and_epoch_millis(value: Any) -> None:
    occurred = order_validator().validate(order_completed_json(occurred_at=value))["occurred_at"]

    assert occurred == MOMENT
    assert occurred.tzinfo is UTC


def test_a_naive_datetime_is_rejected() -> None:
    path, message = only_problem(
        order_validator(), order_completed_json(occurred_at=datetime(2024, 5, 17))
    )

    assert path == "occurred_at"
    assert message == "naive datetime '2024-05-17T00:00:00' has no timezone (timestamp-millis)"


def test_an_iso_string_without_an_offset_is_rejected() -> None:
    path, message = only_problem(
        order_validator(), order_completed_json(received_at="2024-05-17T09:30:12")
    )

    assert path == "received_at"
    assert message == "'2024-05-17T09:30:12' has no UTC offset (add 'Z' or '+00:00')"


@pytest.mark.parametrize("value", ["yesterday", 1.5e12, None])
def test_other_timestamp_inputs_are_rejected(value: Any) -> None:
    path, message = only_problem(order_validator(), order_completed_json(occurred_at=value))

    assert path == "occurred_at"
    assert "timestamp-millis" in message and "got" in message


def test_an_epoch_beyond_the_datetime_range_is_rejected() -> None:
    _, message = only_problem(order_validator(), order_completed_json(occurred_at=2**62))

    assert message == f"epoch millis {2**62} is out of range for timestamp-millis"


def test_sub_millisecond_precision_is_truncated_like_the_avro_writer() -> None:
    value = MOMENT.replace(microsecond=345999)

    assert (
        order_validator().validate(order_completed_json(occurred_at=value))["occurred_at"] == MOMENT
    )


def test_a_date_accepts_an_iso_date() -> None:
    validator = field_validator({"name": "d", "type": {"type": "int", "logicalType": "date"}})

    assert validator.validate({"d": "2024-02-29"}) == {"d": date(2024, 2, 29)}


# -- strings, uuids, enums, currencies ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [EVENT_ID.upper(), EVENT_ID.replace("-", ""), uuid.UUID(EVENT_ID), f"urn:uuid:{EVENT_ID}"],
    ids=["upper", "no-hyphens", "uuid-object", "urn"],
)
def test_uuids_are_normalized_to_lower_case_hyphenated(value: Any) -> None:
    assert order_validator().validate(order_completed_json(event_id=value))["event_id"] == EVENT_ID


def test_an_invalid_uuid_is_rejected() -> None:
    assert only_problem(order_validator(), order_completed_json(event_id="not-a-uuid")) == (
        "event_id",
        "expected a UUID string, got str 'not-a-uuid'",
    )


def test_a_currency_must_be_an_active_iso4217_code() -> None:
    path, message = only_problem(order_validator(), with_properties(currency="EURO"))

    assert path == "properties.currency"
    assert message == "expected an active ISO 4217 currency code (e.g. 'EUR'), got 'EURO'"


def test_a_lower_case_currency_gets_a_hint() -> None:
    _, message = only_problem(order_validator(), with_properties(currency="usd"))

    assert message.endswith("got 'usd' (codes are upper case)")


def test_an_unknown_enum_symbol_is_rejected_with_a_hint() -> None:
    entry = catalogue().get("consent_updated")
    event = sample_event(entry)
    event["properties"]["method"] = "banner"
    path, message = only_problem(validator_for(entry), event)

    assert path == "properties.method"
    assert message == (
        "expected one of BANNER, PREFERENCE_CENTER, API, OTHER (enum ConsentMethod), "
        "got str 'banner' (did you mean 'BANNER'?)"
    )


# -- unions and maps ---------------------------------------------------------------------------


def test_none_takes_the_null_branch() -> None:
    datum = order_validator().validate(with_properties(subtotal=None, coupon=None))

    assert datum["properties"]["subtotal"] is None


def test_a_union_takes_the_first_branch_that_accepts_the_value() -> None:
    timestamp = {"type": "long", "logicalType": "timestamp-millis"}
    validator = field_validator({"name": "u", "type": ["null", timestamp, "string"]})

    assert validator.validate({"u": "2024-05-17T09:30:12.345Z"}) == {"u": MOMENT}
    assert validator.validate({"u": "soon"}) == {"u": "soon"}


def test_a_union_branch_error_is_reported_when_only_one_branch_takes_the_type() -> None:
    path, message = only_problem(order_validator(), with_properties(subtotal="1.00001"))

    assert path == "properties.subtotal"
    assert message.startswith("1.00001 has more than 4 fractional digits")


def test_a_value_no_union_branch_accepts_lists_the_branches() -> None:
    validator = field_validator({"name": "u", "type": ["null", "long", "boolean"]})

    assert only_problem(validator, {"u": "x"}) == (
        "u",
        "expected null | long | boolean, got str 'x'",
    )


def test_map_keys_must_be_strings() -> None:
    assert only_problem(order_validator(), order_completed_json(consent={1: True})) == (
        "consent",
        "map keys must be strings, got int 1",
    )


def test_map_values_are_checked_with_their_key_in_the_path() -> None:
    found = problems(order_validator(), order_completed_json(consent={"ads": "yes", "a b": 1}))

    assert [(p.location.path, p.message) for p in found] == [
        ("consent.ads", "expected boolean, got str 'yes'"),
        ("consent['a b']", "expected boolean, got int 1"),
    ]
