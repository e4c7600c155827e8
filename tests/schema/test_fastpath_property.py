"""The generated fast paths against the thorough validator, over generated events.

For every catalogue schema and the synthetic schemas of the writer's property
tests, events are drawn in datum form and then loosened into what clients send:
decimals as strings, ints or floats, timestamps as RFC 3339 text with any offset
or epoch numbers, upper-case UUIDs, str subclasses, tuples, missing optional
fields, unknown fields, arbitrary values anywhere. Then:

* the fast converter returns exactly what ``validate_thoroughly`` returns (same
  types, same Decimal exponents, same key order), or gives up (``MISS``); it gives
  up whenever the thorough validator rejects the event;
* the fused encoder returns exactly the frame ``AvroCodec.encode`` makes from the
  thorough datum (which the writer tests hold to fastavro's bytes) and the
  exported datum values, or gives up; it gives up whenever validation or encoding
  fails;
* canonical JSON-form and datum-form catalogue events never make either give up.
"""

from __future__ import annotations

import enum
import uuid
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from martech_bus.errors import CodecError, ValidationError
from martech_bus.schema.avro import parse_schema
from martech_bus.schema.avro_writer import fastavro_body, writer_for
from martech_bus.schema.codec import AvroCodec
from martech_bus.schema.fastpath import MISS
from martech_bus.schema.registry import RegisteredSchema
from martech_bus.schema.validate import NO_DEFAULT, EventValidator, Shape, validator_for
from tests.schema.events import catalogue, datum_strategy
from tests.schema.test_avro_writer_property import _ANY, SYNTHETIC, values_for

ENTRIES = list(catalogue())
IDS = [f"{e.subject}-v{e.version}" for e in ENTRIES]
EXPORTS = ("event_id", "source", "occurred_at", "traceparent", "user_id", "anonymous_id")
RECORDS = [
    name
    for name, schema in SYNTHETIC.items()
    if isinstance(schema, dict) and schema.get("type") == "record"
]
PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Colour(enum.Enum):
    RED = "RED"


class Text(str):
    """A str subclass whose str() differs from its content (as a (str, Enum) member's does)."""

    def __str__(self) -> str:
        return f"Text({super().__str__()})"


class Count(enum.IntEnum):
    THREE = 3


# -- loosening datum form into what clients send -----------------------------------------------


class Loosen:
    """Random choices for loosening one event, from a Random that hypothesis seeds.

    A real Random rather than a draw per decision: hypothesis favours 0 and the
    bounds, which would make every "rare" change happen most of the time. Half
    the events are broken in exactly one place (one of the first ``SPOTS``
    chances to break something): a form the validator rejects, or any value at
    all. The others only take forms it accepts.
    """

    SPOTS = 80

    def __init__(self, draw: st.DrawFn) -> None:
        self.random = draw(st.randoms(use_true_random=True))
        self.draw = draw
        self.target = self.random.randrange(self.SPOTS) if self.random.random() < 0.5 else -1
        self.spots = 0

    def rare(self, odds: int) -> bool:
        return self.random.random() < 1 / odds

    def bad(self) -> bool:
        """Whether to break the value at hand (once per event, at a random spot)."""
        self.spots += 1
        return self.spots - 1 == self.target

    def choice(self, options: list[Any]) -> Any:
        return self.random.choice(options)


def loosen(draw: Loosen, shape: Shape, value: Any) -> Any:
    """A JSON-ish (or, in a broken event, sometimes invalid) form of datum ``value``."""
    if draw.bad():
        return draw.draw(_ANY)  # anything at all, anywhere
    kind = shape.kind
    if kind == "union":
        branch = _branch_for(shape, value)
        return value if branch is None else loosen(draw, branch, value)
    if kind == "record" and type(value) is dict:
        return _loosen_record(draw, shape, value)
    if kind == "array" and type(value) is list:
        assert shape.items is not None
        items = [loosen(draw, shape.items, item) for item in value]
        return tuple(items) if draw.rare(10) else items
    if kind == "map" and type(value) is dict:
        assert shape.items is not None
        out: dict[Any, Any] = {k: loosen(draw, shape.items, v) for k, v in value.items()}
        if draw.bad():
            out[draw.choice([1, Text("k"), None])] = next(iter(out.values()), None)
        return out
    forms = _FORMS.get(kind)
    if forms is None:
        return value
    good, bad = forms(shape, value)
    return draw.choice(bad if draw.bad() and bad else good)


def _loosen_record(draw: Loosen, shape: Shape, value: dict[str, Any]) -> Any:
    out: dict[Any, Any] = {}
    for name, child, default in shape.fields:
        if name not in value:
            continue
        if default is not NO_DEFAULT and draw.rare(5):
            continue  # the default fills it
        # The envelope's own fields keep their values (they must match the schema).
        keep = name in ("event_type", "schema_version") and not draw.bad()
        out[name] = value[name] if keep else loosen(draw, child, value[name])
    if draw.bad() and out:
        del out[draw.choice(sorted(out))]  # required ones: an error
    if draw.bad():
        out[draw.choice(["extra", "Event_Id", "-type", 3])] = 1
    if draw.rare(4):
        out = dict(reversed(list(out.items())))
    if draw.rare(20):
        return draw.choice([OrderedDict, MappingProxyType])(out)
    return out


def _branch_for(shape: Shape, value: Any) -> Shape | None:
    for branch in shape.branches:
        if _DATUM_TYPES.get(branch.kind) is type(value):
            return branch
    return None


_DATUM_TYPES: dict[str, type] = {
    "null": type(None),
    "boolean": bool,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "bytes": bytes,
    "fixed": bytes,
    "string": str,
    "uuid": str,
    "enum": str,
    "decimal": Decimal,
    "timestamp": datetime,
    "date": date,
    "record": dict,
    "map": dict,
    "array": list,
}
Forms = tuple[list[Any], list[Any]]  # (accepted forms, mostly rejected forms)


def _decimal_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not Decimal:
        return [value], []
    plain = format(value, "f")
    good: list[Any] = [value, plain, plain, plain, str(value), value.normalize(), f" {plain} "]
    padded = f"-0{plain[1:]}" if plain.startswith("-") else f"0{plain}"
    good += [plain.rstrip("0"), f"+{plain}", f"{value:E}", plain + "0", padded]
    good.append(plain.translate(_ARABIC_INDIC))
    if Decimal(repr(float(value))) == value:
        good.append(float(value))
    if value == value.to_integral_value():
        good.append(int(value))
    digits = shape.precision - shape.scale  # the most integer digits the type holds
    good.append("9" * digits if digits > 0 else "0")
    bad = [plain.replace(".", ","), "NaN", "-Infinity", "1_000", plain + "1", "1e999", True]
    bad += ["1" + "0" * max(digits, 0), "-1" + "0" * max(digits, 0) + ".5"]
    return good, bad


_ARABIC_INDIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)


def _timestamp_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not datetime:
        return [value], []
    plus2 = value.astimezone(timezone(timedelta(hours=2)))
    iso = value.isoformat()
    good: list[Any] = [value, iso, iso.replace("+00:00", "Z"), iso.replace("+00:00", "Z")]
    good += [plus2, plus2.isoformat(), value.isoformat(" ")]
    good += [value.isoformat(timespec="milliseconds").replace("+00:00", "Z")]
    epoch = (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=shape.tick)
    good.append(epoch)
    bad = [value.replace(tzinfo=None), iso[:19], "2024-02-30T00:00:00Z", "soon", True, 1.5]
    return good, bad


def _uuid_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not str:
        return [value], []
    return [value, value, value.upper(), f"{{{value}}}", uuid.UUID(value)], [value[:-1], 7]


def _string_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not str:
        return [value], []
    if shape.check:  # a format (ISO 4217): its rejections matter most
        return [value], [value.lower(), f" {value}", Text(value), value.encode(), None]
    return [value, value, Text(value), value.lower()], [value.encode(), None, 1]


def _int_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not int:
        return [value], []
    return [value, value, value, Count.THREE], [float(value), str(value), True, 2**63]


def _float_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not float:
        return [value], []
    good: list[Any] = [value, value]
    if value.is_integer() and abs(value) < 2**53:
        good.append(int(value))
    return good, [str(value), True, float("nan"), 10**400, 3.5e38, -3.5e38]


def _date_forms(shape: Shape, value: Any) -> Forms:
    if type(value) is not date:
        return [value], []
    days = (value - date(1970, 1, 1)).days
    return [value, value.isoformat(), days], [datetime(2024, 1, 1), "2024-13-01"]


_FORMS = {
    "decimal": _decimal_forms,
    "timestamp": _timestamp_forms,
    "uuid": _uuid_forms,
    "string": _string_forms,
    "enum": _string_forms,
    "int": _int_forms,
    "long": _int_forms,
    "float": _float_forms,
    "double": _float_forms,
    "date": _date_forms,
    "bytes": lambda shape, value: ([value, bytearray(value), memoryview(value)], ["text"]),
    "fixed": lambda shape, value: ([value, bytearray(value)], [value + b"x"]),
    "boolean": lambda shape, value: ([value], [1, "true", None]),
    "null": lambda shape, value: ([value], [0, ""]),
}


def _loose(shape: Shape, value: Any) -> st.SearchStrategy[Any]:
    return st.composite(lambda draw: loosen(Loosen(draw), shape, value))()


# -- comparing results exactly -----------------------------------------------------------------


def assert_identical(fast: Any, thorough: Any, path: str = "") -> None:
    """Equal, of the same types, Decimals with the same exponent, dicts in the same order."""
    assert type(fast) is type(thorough), (path, fast, thorough)
    if isinstance(thorough, dict):
        assert list(fast) == list(thorough), path
        for key in thorough:
            assert_identical(fast[key], thorough[key], f"{path}.{key}")
    elif isinstance(thorough, list):
        assert len(fast) == len(thorough), path
        for i, (a, b) in enumerate(zip(fast, thorough, strict=True)):
            assert_identical(a, b, f"{path}[{i}]")
    elif isinstance(thorough, Decimal):
        assert fast.as_tuple() == thorough.as_tuple(), (path, fast, thorough)
    elif isinstance(thorough, datetime):
        assert (fast, fast.tzinfo) == (thorough, thorough.tzinfo), path
    else:
        assert fast == thorough, (path, fast, thorough)


def thorough(validator: EventValidator, event: Any) -> dict[str, Any] | None:
    try:
        return validator.validate_thoroughly(event)
    except ValidationError:
        return None


def check_converter(validator: EventValidator, event: Any) -> None:
    expected = thorough(validator, event)
    if type(event) is not dict:
        return  # validate() only offers dicts to the fast path
    got = (validator._fast or validator._compile_fast())(event)
    if expected is None:
        assert got is MISS
    else:
        if got is not MISS:
            assert_identical(got, expected)
        assert_identical(validator.validate(event), expected)


def check_encoder(validator: EventValidator, encode: Any, event: Any) -> Any:
    """The fused result of ``event``, checked against validation + encoding."""
    expected = thorough(validator, event)
    body: bytes | None = None
    if expected is not None:
        try:
            body = writer_for(validator.schema)(expected)
        except CodecError:
            body = None
    got = encode(event) if type(event) is dict else None
    if body is None:
        assert got is None
    elif got is not None:
        assert expected is not None
        assert got[0] == b"\x00HEAD" + body
        for name, value in zip(EXPORTS, got[1:], strict=True):
            assert_identical(value, expected.get(name))
    return got


@cache
def _validator(name: str) -> EventValidator:
    return EventValidator(SYNTHETIC[name])


def _encoder(validator: EventValidator) -> Any:
    return validator.fused_encoder(EXPORTS).bind(b"\x00HEAD")


# -- catalogue schemas -------------------------------------------------------------------------


def _catalogue_event(data: st.DataObject, entry: RegisteredSchema) -> dict[str, Any]:
    datum = data.draw(datum_strategy(entry))
    identity = data.draw(st.sampled_from([("u-1", None), (None, "a-1"), ("u-1", "a-1")]))
    datum.update(
        event_type=entry.subject,
        schema_version=entry.version,
        user_id=identity[0],
        anonymous_id=identity[1],
    )
    return datum


def _loosened_event(data: st.DataObject, entry: RegisteredSchema, validator: Any) -> Any:
    """A catalogue event in a looser form, sometimes with a blank or wrong-typed user key."""
    loose = data.draw(_loose(validator.shape, _catalogue_event(data, entry)))
    if data.draw(st.randoms(use_true_random=False)).random() < 0.1 and isinstance(loose, dict):
        loose = {
            **loose,
            "user_id": data.draw(st.sampled_from(["", " ", None, 5])),
            "anonymous_id": None,
        }
    return loose


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@PROPERTY
@given(data=st.data())
def test_the_fast_converter_returns_the_thorough_datum_or_gives_up(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    validator = validator_for(entry)
    loose = _loosened_event(data, entry, validator)
    if data.draw(st.randoms(use_true_random=False)).random() < 0.05 and isinstance(loose, dict):
        loose = {**loose, "schema_version": entry.version + 1}

    check_converter(validator, loose)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@PROPERTY
@given(data=st.data())
def test_the_fused_encoder_returns_the_codecs_frame_or_gives_up(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    validator = validator_for(entry)
    loose = _loosened_event(data, entry, validator)

    check_encoder(validator, _encoder(validator), loose)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@PROPERTY
@given(data=st.data())
def test_canonical_json_and_datum_form_events_take_the_fast_paths(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    validator = validator_for(entry)
    datum = _catalogue_event(data, entry)
    canonical = _canonical_json(validator.shape, datum)

    for event in (datum, canonical):
        assert (validator._fast or validator._compile_fast())(event) is not MISS
        assert check_encoder(validator, _encoder(validator), event) is not None
        check_converter(validator, event)


def _canonical_json(shape: Shape, value: Any) -> Any:
    """What a JSON client sends for a datum: plain decimal strings, RFC 3339 with Z."""
    if shape.kind == "union":
        branch = _branch_for(shape, value)
        return value if branch is None else _canonical_json(branch, value)
    if shape.kind == "record":
        return {name: _canonical_json(child, value[name]) for name, child, _ in shape.fields}
    if shape.kind == "array":
        assert shape.items is not None
        return [_canonical_json(shape.items, item) for item in value]
    if shape.kind == "map":
        assert shape.items is not None
        return {k: _canonical_json(shape.items, v) for k, v in value.items()}
    if shape.kind == "decimal":
        return format(value, "f")
    if shape.kind == "timestamp":
        return value.isoformat().replace("+00:00", "Z")
    return value


# -- synthetic schemas: every type, named and recursive records, multi-branch unions -------------


@pytest.mark.parametrize("name", RECORDS)
@PROPERTY
@given(data=st.data())
def test_synthetic_schemas_convert_as_the_thorough_validator_does(
    name: str, data: st.DataObject
) -> None:
    validator = _validator(name)
    datum = data.draw(_values(name))
    loose = data.draw(_loose(validator.shape, datum))

    check_converter(validator, datum)
    check_converter(validator, loose)


@pytest.mark.parametrize("name", RECORDS)
@PROPERTY
@given(data=st.data())
def test_synthetic_schemas_encode_as_validation_then_the_writer_does(
    name: str, data: st.DataObject
) -> None:
    validator = _validator(name)
    datum = data.draw(_values(name))
    loose = data.draw(_loose(validator.shape, datum))
    encode = _encoder(validator)

    check_encoder(validator, encode, datum)
    check_encoder(validator, encode, loose)


@cache
def _values(name: str) -> st.SearchStrategy[Any]:
    items = 1 if name in ("recursive", "deep_records") else 3
    return values_for(SYNTHETIC[name], items=items)


def test_the_fused_bytes_are_fastavros_for_a_json_form_order() -> None:
    from tests.schema.events import order_completed_json

    entry = catalogue().get("order_completed", 2)
    validator = validator_for(entry)
    event = order_completed_json()
    encode = validator.fused_encoder(EXPORTS).bind(b"")

    got = encode(event)

    assert got is not None
    assert got[0] == fastavro_body(parse_schema(entry.schema), validator.validate_thoroughly(event))
    assert got[0] == AvroCodec(catalogue()).encode_body(validator.validate(event), entry.subject)
