"""The generated models (``martech_bus.events``) mirror the Avro catalogue strictly."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pydantic
import pytest

from martech_bus.errors import UnknownSchemaError
from martech_bus.events import (
    MODELS,
    EventModel,
    OrderCompletedV1,
    OrderCompletedV2,
    model_for,
    to_datum,
)
from martech_bus.schema.avro import PRIMITIVES, full_name
from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_ID = "0b7e4d8c-2f6a-4c1e-9d3b-5a6f7e8d9c0b"
AT = datetime(2024, 5, 17, 9, 30, 12, 345000, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(REPO_ROOT / "schemas")


def entries() -> list[RegisteredSchema]:
    return list(SchemaRegistry.load(REPO_ROOT / "schemas"))


def entry_id(entry: RegisteredSchema) -> str:
    return f"{entry.subject}-v{entry.version}"


def full_datum(entry: RegisteredSchema) -> dict[str, Any]:
    """A valid event in datum form with every field present (optional ones filled too)."""
    datum: dict[str, Any] = _fill(entry.schema, None, {}, None)
    datum.update(
        event_id=EVENT_ID,
        event_type=entry.subject,
        schema_version=entry.version,
        occurred_at=AT,
        received_at=AT + timedelta(seconds=1),
        user_id="user-1",
        anonymous_id="anon-1",
    )
    return datum


def _fill(schema: Any, namespace: str | None, named: dict[str, Any], fmt: str | None) -> Any:
    if isinstance(schema, list):
        branch = next(b for b in schema if b != "null")
        return _fill(branch, namespace, named, fmt)
    if isinstance(schema, str):
        if schema not in PRIMITIVES:
            return _fill(named[full_name(schema, namespace)], namespace, named, fmt)
        samples: dict[str, Any] = {"boolean": True, "int": 3, "long": 4, "float": 1.5}
        samples |= {"double": 2.5, "bytes": b"\x01", "string": "EUR" if fmt == "iso4217" else "x"}
        return samples[schema]
    kind, logical = schema["type"], schema.get("logicalType")
    if kind in ("record", "enum", "fixed"):
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        named[qualified] = schema
        namespace = qualified.rpartition(".")[0] or None
    if logical == "decimal":
        return Decimal(199_999).scaleb(-schema.get("scale", 0))
    if logical == "uuid":
        return EVENT_ID
    if logical == "timestamp-millis":
        return AT
    if kind == "record":
        return {
            f["name"]: _fill(f["type"], namespace, named, f.get("format")) for f in schema["fields"]
        }
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "array":
        return [_fill(schema["items"], namespace, named, None)]
    if kind == "map":
        return {"key": _fill(schema["values"], namespace, named, None)}
    return _fill(kind, namespace, named, schema.get("format", fmt))


def order(**changes: Any) -> dict[str, Any]:
    """A valid order_completed v2 datum, with top-level or ``properties`` changes."""
    datum = full_datum(SchemaRegistry.load(REPO_ROOT / "schemas").get("order_completed", 2))
    for key, value in changes.items():
        if key.startswith("p_"):
            datum["properties"][key[2:]] = value
        else:
            datum[key] = value
    return datum


def rejects(data: dict[str, Any], model: type[EventModel] = OrderCompletedV2) -> str:
    with pytest.raises(pydantic.ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


def avro_round_trip(entry: RegisteredSchema, datum: dict[str, Any]) -> Any:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, entry.parsed, datum)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, entry.parsed, None)


# -- every subject version --------------------------------------------------------------------


@pytest.mark.parametrize("entry", entries(), ids=entry_id)
def test_a_full_example_validates_into_its_model(entry: RegisteredSchema) -> None:
    datum = full_datum(entry)
    model = model_for(entry.subject, entry.version).model_validate(datum)
    assert to_datum(model) == datum


@pytest.mark.parametrize("entry", entries(), ids=entry_id)
def test_to_datum_is_written_by_fastavro_and_reads_back_equal(entry: RegisteredSchema) -> None:
    cls = model_for(entry.subject, entry.version)
    model = cls.model_validate(full_datum(entry))
    back = avro_round_trip(entry, to_datum(model))
    assert cls.model_validate(back) == model
    assert to_datum(cls.model_validate(back)) == to_datum(model)


@pytest.mark.parametrize("entry", entries(), ids=entry_id)
def test_every_model_names_its_subject_version_and_fingerprint(entry: RegisteredSchema) -> None:
    cls = model_for(entry.subject, entry.version)
    assert cls.__avro_subject__ == entry.subject
    assert cls.__avro_version__ == entry.version
    assert cls.__avro_fingerprint__ == entry.fingerprints.sha256
    assert cls.__avro_name__ == entry.record_name


def test_every_catalogue_version_has_a_model(registry: SchemaRegistry) -> None:
    assert set(MODELS) == {(e.subject, e.version) for e in registry}


def test_a_minimal_event_takes_the_avro_defaults(registry: SchemaRegistry) -> None:
    model = OrderCompletedV2(
        event_id=EVENT_ID,
        event_type="order_completed",
        schema_version=2,
        occurred_at=AT,
        received_at=AT,
        source="web",
        anonymous_id="anon-1",
        context={},  # type: ignore[arg-type]
        properties={  # type: ignore[arg-type]
            "order_id": "A-1",
            "total": Decimal("10"),
            "currency": "EUR",
            "products": [],
        },
    )
    assert model.user_id is None
    assert model.consent == {}
    assert model.context.page is None
    assert model.properties.shipping_method is None
    avro_round_trip(registry.get("order_completed", 2), to_datum(model))


def test_the_documented_example_event_is_a_valid_order_completed_v2() -> None:
    text = (REPO_ROOT / "examples" / "events" / "order_completed.json").read_text(encoding="utf-8")
    model = OrderCompletedV2.model_validate_json(text)
    assert model.properties.total == Decimal("134.8000")
    assert OrderCompletedV2.model_validate(json.loads(text)) == model


def test_a_v1_event_is_not_a_v2_event() -> None:
    datum = order(schema_version=1)
    del datum["properties"]["shipping_method"]
    OrderCompletedV1.model_validate(datum)
    assert "schema_version" in rejects(datum)


# -- strictness -------------------------------------------------------------------------------


def test_a_naive_datetime_is_rejected() -> None:
    assert "occurred_at" in rejects(order(occurred_at=datetime(2024, 5, 17, 9, 30)))


def test_a_timestamp_string_without_an_offset_is_rejected() -> None:
    assert "occurred_at" in rejects(order(occurred_at="2024-05-17T09:30:12"))


def test_a_numeric_timestamp_string_is_rejected() -> None:
    assert "occurred_at" in rejects(order(occurred_at="1715938212345"))


def test_a_bool_for_an_int_is_rejected() -> None:
    datum = order()
    datum["properties"]["products"][0]["quantity"] = True
    assert "quantity" in rejects(datum)


def test_a_float_for_an_int_is_rejected() -> None:
    datum = order()
    datum["properties"]["products"][0]["quantity"] = 2.0
    assert "quantity" in rejects(datum)


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1])
def test_an_out_of_range_int_is_rejected(value: int) -> None:
    datum = order()
    datum["properties"]["products"][0]["quantity"] = value
    assert "quantity" in rejects(datum)


def test_an_int_for_a_boolean_is_rejected() -> None:
    assert "consent" in rejects(order(consent={"marketing": 1}))


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), "NaN", "-inf"])
def test_a_non_finite_decimal_is_rejected(value: Any) -> None:
    assert "total" in rejects(order(p_total=value))


def test_too_many_decimal_places_are_rejected() -> None:
    assert "total" in rejects(order(p_total=Decimal("1.23456")))


def test_too_many_integer_digits_are_rejected() -> None:
    assert "total" in rejects(order(p_total=Decimal("123456789012345")))


def test_an_unknown_field_is_rejected() -> None:
    assert "colour" in rejects(order(colour="red"))


def test_an_unknown_nested_field_is_rejected() -> None:
    assert "voucher" in rejects(order(p_voucher="X"))


@pytest.mark.parametrize("code", ["eur", "XXX", "EURO", ""])
def test_a_bad_currency_is_rejected(code: str) -> None:
    assert "currency" in rejects(order(p_currency=code))


def test_an_event_without_user_id_or_anonymous_id_is_rejected() -> None:
    message = rejects(order(user_id=None, anonymous_id=None))
    assert "user_id / anonymous_id" in message


@pytest.mark.parametrize("blank", ["", "  "])
def test_blank_identity_strings_are_rejected(blank: str) -> None:
    assert "user_id / anonymous_id" in rejects(order(user_id=blank, anonymous_id=blank))


def test_an_anonymous_id_alone_identifies_the_event() -> None:
    OrderCompletedV2.model_validate(order(user_id=None))


def test_a_wrong_event_type_is_rejected() -> None:
    assert "event_type" in rejects(order(event_type="order_refunded"))


@pytest.mark.parametrize("value", [True, 2.0, "2"])
def test_a_schema_version_that_is_not_exactly_the_int_is_rejected(value: Any) -> None:
    assert "schema_version" in rejects(order(schema_version=value))


def test_an_unknown_enum_symbol_is_rejected(registry: SchemaRegistry) -> None:
    datum = full_datum(registry.get("consent_updated", 1))
    datum["properties"]["method"] = "SMOKE_SIGNAL"
    assert "method" in rejects(datum, model_for("consent_updated", 1))


def test_an_invalid_uuid_is_rejected() -> None:
    assert "event_id" in rejects(order(event_id="not-a-uuid"))


def test_a_float_nan_is_rejected_where_pydantic_would_allow_it() -> None:
    assert "total" in rejects(order(p_total=float("nan")))


# -- the datum form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [EVENT_ID.upper(), uuid.UUID(EVENT_ID), "{" + EVENT_ID + "}"], ids=str
)
def test_a_uuid_is_held_lower_case_hyphenated(value: Any) -> None:
    assert OrderCompletedV2.model_validate(order(event_id=value)).event_id == EVENT_ID


def test_timestamps_are_held_in_utc_truncated_to_milliseconds() -> None:
    local = datetime(2024, 5, 17, 11, 30, 12, 345678, tzinfo=timezone(timedelta(hours=2)))
    model = OrderCompletedV2.model_validate(order(occurred_at=local.isoformat()))
    assert model.occurred_at == AT
    assert model.occurred_at.tzinfo is UTC


def test_an_epoch_integer_timestamp_is_read_as_milliseconds() -> None:
    millis = int(AT.timestamp() * 1000)
    assert OrderCompletedV2.model_validate(order(occurred_at=millis)).occurred_at == AT


@pytest.mark.parametrize("value", ["1.5", Decimal("1.50000"), 1.5, 1])
def test_decimals_are_held_at_the_schema_scale(value: Any) -> None:
    total = OrderCompletedV2.model_validate(order(p_total=value)).properties.total
    assert total == Decimal(str(value))
    assert total.as_tuple().exponent == -4


def test_models_are_frozen() -> None:
    model = OrderCompletedV2.model_validate(order())
    with pytest.raises(pydantic.ValidationError):
        model.source = "crm"


def test_validation_errors_do_not_echo_personal_data() -> None:
    message = rejects(order(p_email=["jane@example.com"]))
    assert "email" in message
    assert "jane@example.com" not in message


# -- metadata ---------------------------------------------------------------------------------


def test_pii_tags_are_in_the_json_schema() -> None:
    schema = OrderCompletedV2.model_json_schema()
    properties = schema["$defs"]["OrderCompletedPropertiesV2"]["properties"]
    assert properties["email"]["pii"] == "email"
    assert schema["properties"]["user_id"]["pii"] == "user_id"


def test_avro_docs_are_field_descriptions() -> None:
    field = OrderCompletedV2.model_fields["occurred_at"]
    assert field.description == "When it happened (UTC)."


def test_model_for_an_unknown_subject_version_names_the_known_ones() -> None:
    with pytest.raises(UnknownSchemaError, match="order_completed v2"):
        model_for("order_completed", 3)


@pytest.mark.parametrize(
    "factory",
    [lambda: model_for("order_completed", 2), lambda: OrderCompletedV2],
    ids=["model_for", "import"],
)
def test_model_for_and_the_package_name_are_the_same_class(
    factory: Callable[[], type[EventModel]],
) -> None:
    from martech_bus.events import order_completed

    assert factory() is order_completed.OrderCompletedV2


# -- the same verdict and datum as martech-bus's own validator (the Lambda hot path) ----------

AGREEMENT_CASES: dict[str, dict[str, Any]] = {
    "datum form": {},
    "iso timestamp with offset and micros": {"occurred_at": "2024-05-17T11:30:12.345678+02:00"},
    "epoch millis": {"occurred_at": 1715938212345},
    "upper-case uuid": {"event_id": EVENT_ID.upper()},
    "numeric string decimal": {"p_total": " 1.5 "},
    "float decimal": {"p_total": 0.1},
    "anonymous only": {"user_id": None},
    "naive timestamp": {"occurred_at": datetime(2024, 5, 17)},
    "numeric timestamp string": {"occurred_at": "1715938212345"},
    "float timestamp": {"occurred_at": 1715938212345.0},
    "bool version": {"schema_version": True},
    "wrong event type": {"event_type": "order_refunded"},
    "int consent": {"consent": {"marketing": 1}},
    "bytes for string": {"source": b"web"},
    "unknown field": {"colour": "red"},
    "blank identity": {"user_id": " ", "anonymous_id": None},
    "nan decimal": {"p_total": "NaN"},
    "too precise decimal": {"p_total": Decimal("1.23456")},
    "lower-case currency": {"p_currency": "eur"},
}


@pytest.mark.parametrize("changes", AGREEMENT_CASES.values(), ids=AGREEMENT_CASES.keys())
def test_models_and_the_event_validator_agree(
    registry: SchemaRegistry, changes: dict[str, Any]
) -> None:
    from martech_bus.errors import ValidationError
    from martech_bus.schema.validate import validator_for

    event = order(**changes)
    try:
        expected: dict[str, Any] | None = validator_for(
            registry.get("order_completed", 2)
        ).validate(event)
    except ValidationError:
        expected = None
    try:
        actual: dict[str, Any] | None = to_datum(OrderCompletedV2.model_validate(event))
    except pydantic.ValidationError:
        actual = None
    assert actual == expected
