"""The generated fast paths: what they give up on, what they keep fast, and their source."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from martech_bus.errors import ValidationError
from martech_bus.schema.avro_writer import writer_for
from martech_bus.schema.fastpath import MISS, compile_converter
from martech_bus.schema.validate import EventValidator, validator_for
from tests.schema.events import catalogue, order_completed_json

EXPORTS = ("event_id", "occurred_at", "user_id")


def order_v2() -> EventValidator:
    return validator_for(catalogue().get("order_completed", 2))


def changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    event = order_completed_json()
    event["properties"] = copy.deepcopy(event["properties"])
    event["context"] = copy.deepcopy(event["context"])
    change(event)
    return event


def fast(validator: EventValidator, event: dict[str, Any]) -> Any:
    return validator._compile_fast()(event)


def fused(validator: EventValidator, event: dict[str, Any]) -> Any:
    return validator.fused_encoder(EXPORTS).bind(b"")(event)


INVALID: dict[str, Callable[[dict[str, Any]], object]] = {
    "unknown field": lambda e: e.update(shiping_method="x"),
    "unknown nested field": lambda e: e["context"].update(ipp="1.2.3.4"),
    "missing required field": lambda e: e["properties"].pop("order_id"),
    "lower-case currency": lambda e: e["properties"].update(currency="eur"),
    "too many integer digits": lambda e: e["properties"].update(total="1" + "0" * 14),
    "too many fractional digits": lambda e: e["properties"].update(total="1.23456"),
    "a NaN amount": lambda e: e["properties"].update(total="NaN"),
    "an underscore in an amount": lambda e: e["properties"].update(total="1_000"),
    "a timestamp without offset": lambda e: e.update(occurred_at="2024-05-17T09:30:12"),
    "an impossible date": lambda e: e.update(occurred_at="2024-02-30T09:30:12Z"),
    "a bool for an int": lambda e: e["properties"]["products"][0].update(quantity=True),
    "an int out of range": lambda e: e["properties"]["products"][0].update(quantity=2**31),
    "a non-string map key": lambda e: e["consent"].update({1: True}),
    "a string for a boolean": lambda e: e["consent"].update(marketing="yes"),
    "no identity": lambda e: e.update(user_id=" ", anonymous_id=None),
    "another schema version": lambda e: e.update(schema_version=1),
    "another event type": lambda e: e.update(event_type="order_created"),
    "a list for a record": lambda e: e.update(context=[]),
    "a record for a string": lambda e: e.update(source={"name": "web"}),
    "a malformed UUID": lambda e: e.update(event_id="6f1c1d3e-8a4b-4c2d-9e0f"),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_an_invalid_event_makes_both_fast_paths_give_up(name: str) -> None:
    event = changed(INVALID[name])

    assert fast(order_v2(), event) is MISS
    assert fused(order_v2(), event) is None


@pytest.mark.parametrize("name", list(INVALID))
def test_validate_reports_an_invalid_event_exactly_as_the_thorough_validator_does(
    name: str,
) -> None:
    event = changed(INVALID[name])
    with pytest.raises(ValidationError) as thorough:
        order_v2().validate_thoroughly(event)

    with pytest.raises(ValidationError) as caught:
        order_v2().validate(event)

    assert caught.value.problems == thorough.value.problems
    assert str(caught.value) == str(thorough.value)


RARE_FORMS: dict[str, Callable[[dict[str, Any]], object]] = {
    "an offset other than UTC": lambda e: e.update(occurred_at="2024-05-17T11:30:12.345+02:00"),
    "epoch milliseconds": lambda e: e.update(occurred_at=1715938212345),
    "microseconds": lambda e: e.update(occurred_at="2024-05-17T09:30:12.345678Z"),
    "an upper-case UUID": lambda e: e.update(event_id=str(uuid.uuid4()).upper()),
    "a UUID object": lambda e: e.update(event_id=uuid.uuid4()),
    "a float amount": lambda e: e["properties"].update(total=59.97),
    "an int amount": lambda e: e["properties"].update(total=60),
    "a negative amount": lambda e: e["properties"].update(discount="-5.00"),
    "an amount with an exponent": lambda e: e["properties"].update(total="5.997E+1"),
    "a Decimal of another scale": lambda e: e["properties"].update(total=Decimal("59.97")),
}


@pytest.mark.parametrize("name", list(RARE_FORMS))
def test_a_rare_form_of_one_value_keeps_the_rest_of_the_event_fast(name: str) -> None:
    event = changed(RARE_FORMS[name])
    expected = order_v2().validate_thoroughly(event)

    assert fast(order_v2(), event) == expected
    body = writer_for(order_v2().schema)(expected)
    assert fused(order_v2(), event) == (
        body,
        expected["event_id"],
        expected["occurred_at"],
        expected["user_id"],
    )


def test_a_missing_optional_field_gets_a_fresh_copy_of_its_default() -> None:
    event = order_completed_json()
    del event["consent"]

    first, second = order_v2().validate(event), order_v2().validate(event)
    first["consent"]["marketing"] = True

    assert second["consent"] == {}


def test_a_mapping_that_is_not_a_dict_is_validated_thoroughly() -> None:
    from types import MappingProxyType

    event = order_completed_json()

    assert order_v2().validate(MappingProxyType(event)) == order_v2().validate(event)


def test_the_fast_path_is_compiled_after_the_warm_up_validations() -> None:
    from martech_bus.schema.validate import WARM_UP

    validator = EventValidator(catalogue().get("page_viewed", 1).schema)
    for _ in range(WARM_UP):
        with pytest.raises(ValidationError):
            validator.validate({})
    assert validator._fast is None

    with pytest.raises(ValidationError):
        validator.validate({})

    assert validator._fast is not None


SNEAKY = "__import__('os').system('echo pwned')"


def test_schema_text_never_reaches_the_generated_source() -> None:
    schema = {
        "type": "record",
        "name": "Sneaky",
        "namespace": "x.y",
        "doc": SNEAKY,
        "fields": [
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "note", "type": "string", "default": SNEAKY, "doc": SNEAKY},
            {"name": "tag", "type": ["null", "string"], "default": None},
            {"name": "blob", "type": "bytes", "default": "\u00ff'\""},
        ],
    }
    validator = EventValidator(schema)

    sources = [validator.fused_encoder(("note",)).source, compile_converter(validator.shape).source]
    for source in sources:
        assert "import" not in source and "pwned" not in source and "Sneaky" not in source
        assert "'note'" in source  # names go in through repr
    datum = validator.validate({"kind": "A"})
    assert datum == {"kind": "A", "note": SNEAKY, "tag": None, "blob": b"\xff'\""}
    assert validator.fused_encoder(("note",)).bind(b"")({"kind": "B"}) == (
        writer_for(schema)({**datum, "kind": "B"}),
        SNEAKY,
    )


def test_the_codecs_validating_encoder_returns_the_frame_encode_makes() -> None:
    from martech_bus.schema.codec import AvroCodec

    entry = catalogue().get("order_completed", 2)
    codec = AvroCodec(catalogue().with_ids({("order_completed", 2): 4242}))
    encode = codec.validating_encoder(entry, ("event_id",))
    event = order_completed_json()

    assert encode is not None
    frame, event_id = encode(event)
    assert frame == codec.encode(order_v2().validate(event), "order_completed", 2)
    assert frame[:5] == b"\x00\x00\x00\x10\x92"  # this codec's schema id
    assert event_id == event["event_id"]


def test_a_codec_with_another_encoder_offers_no_validating_encoder() -> None:
    from martech_bus.schema.codec import AvroCodec, fastavro_encoder

    class Reference(AvroCodec):
        make_encoder = staticmethod(fastavro_encoder)

    assert Reference(catalogue()).validating_encoder(catalogue().get("order_completed")) is None
