"""Properties of the generated Avro writer: exactly fastavro's bytes.

* Every catalogue schema, datum-form events (``datum_strategy``): the generated
  fast path alone (its fallback raises) writes fastavro's bytes.
* Synthetic schemas covering every Avro type, logical type and union shape the
  fast path handles: the same, with values at the edges (long bounds, NaN,
  pre-epoch and sub-millisecond timestamps, precision-38 decimals, 300-byte
  strings...).
* Ambiguous unions and arbitrary Python values (datum form or not): the
  encoder with its fastavro fallback returns fastavro's bytes, or raises a
  CodecError exactly when fastavro cannot write the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from martech_bus.errors import CodecError
from martech_bus.schema.avro import PRIMITIVES, full_name, parse_schema
from martech_bus.schema.avro_writer import compile_writer, fastavro_body, writer_for
from martech_bus.schema.registry import RegisteredSchema
from tests.schema.events import catalogue, datum_strategy

ENTRIES = list(catalogue())
PROPERTY = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _no_fallback(datum: Any, exc: Exception) -> bytes:
    raise AssertionError(f"the generated fast path gave up on a datum-form value: {exc!r}")


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.subject}-v{e.version}" for e in ENTRIES])
@PROPERTY
@given(data=st.data())
def test_catalogue_events_are_written_by_the_fast_path_as_fastavro_does(
    entry: RegisteredSchema, data: st.DataObject
) -> None:
    datum = data.draw(datum_strategy(entry))
    fast = compile_writer(entry.schema).bind(_no_fallback)

    assert fast(datum) == fastavro_body(entry.parsed, datum)


# -- synthetic schemas: every type ---------------------------------------------------------------


def _decimal(kind: str, precision: int, scale: int, size: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind, "logicalType": "decimal", "precision": precision}
    schema["scale"] = scale
    if kind == "fixed":
        schema.update(name=f"Dec{precision}x{scale}", size=size)
    return schema


def _logical(kind: str, logical: str) -> dict[str, Any]:
    return {"type": kind, "logicalType": logical}


def _record(name: str, *fields: tuple[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}


ENUM = {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}
FIXED4 = {"type": "fixed", "name": "Four", "size": 4}
FIXED8 = {"type": "fixed", "name": "Eight", "size": 8}
TS_MILLIS = _logical("long", "timestamp-millis")
INNER = _record("Inner", ("id", "long"), ("tag", ["null", "string"]))

SYNTHETIC: dict[str, Any] = {
    "primitives": _record(
        "Primitives",
        *((f"f_{kind}", kind) for kind in sorted(PRIMITIVES)),
    ),
    "logical": _record(
        "Logical",
        ("money", _decimal("bytes", 9, 2)),
        ("wide", _decimal("bytes", 38, 10)),  # more digits than the default decimal context
        ("whole", _decimal("bytes", 5, 0)),
        ("fixed_money", _decimal("fixed", 18, 4, 8)),
        ("fixed_wide", _decimal("fixed", 38, 2, 16)),
        ("ts_millis", TS_MILLIS),
        ("ts_micros", _logical("long", "timestamp-micros")),
        ("local_millis", _logical("long", "local-timestamp-millis")),
        ("local_micros", _logical("long", "local-timestamp-micros")),
        ("day", _logical("int", "date")),
        ("time_millis", _logical("int", "time-millis")),
        ("time_micros", _logical("long", "time-micros")),
        ("id", _logical("string", "uuid")),
    ),
    "named": {
        "type": "record",
        "name": "Named",
        "namespace": "com.example",
        "fields": [
            {"name": "colour", "type": ENUM},
            {"name": "again", "type": "Colour"},
            {"name": "four", "type": FIXED4},
            {"name": "four_again", "type": "com.example.Four"},
            {"name": "inner", "type": INNER},
            {"name": "inner_again", "type": "Inner"},  # used by name: its own function
            {"name": "elsewhere", "type": _record("Other", ("x", "int")) | {"namespace": "org.x"}},
            {"name": "elsewhere_again", "type": "org.x.Other"},
            {"name": "error", "type": {"type": "error", "name": "Oops", "fields": []}},
        ],
    },
    "collections": _record(
        "Collections",
        ("ints", {"type": "array", "items": "int"}),
        ("records", {"type": "array", "items": INNER}),
        ("by_key", {"type": "map", "values": "string"}),
        (
            "nested",
            {
                "type": "map",
                "values": {"type": "array", "items": {"type": "map", "values": "long"}},
            },
        ),
        ("optional_items", {"type": "array", "items": ["null", "double"]}),
        ("optional_values", {"type": "map", "values": ["null", ENUM]}),
        ("texts", {"type": "array", "items": "string"}),
    ),
    "unions": _record(
        "Unions",
        ("null_string", ["null", "string"]),
        ("null_string_long", ["null", "string", "long"]),
        ("int_long", ["int", "long"]),
        ("long_int", ["long", "int"]),
        ("float_double", ["float", "double"]),
        ("double_float", ["double", "float"]),
        ("float_string_double", ["float", "string", "double"]),
        ("float_only", ["null", "float"]),
        ("scalars", ["null", "boolean", "int", "double", "string", "bytes"]),
        ("enum_or_string", ["null", ENUM, "string"]),
        ("string_or_enum", ["string", "Colour"]),
        ("fixed_sizes", [FIXED4, FIXED8, "bytes"]),
        ("optional_record", ["null", INNER]),
        ("optional_array", ["null", {"type": "array", "items": "long"}]),
        ("optional_map", ["null", {"type": "map", "values": "boolean"}]),
        ("optional_decimal", ["null", _decimal("bytes", 18, 4)]),
        ("optional_fixed_decimal", ["null", _decimal("fixed", 9, 3, 5)]),
        ("optional_timestamp", ["null", TS_MILLIS]),
        ("timestamp_or_string", ["null", TS_MILLIS, "string"]),
        ("date_or_time", [_logical("int", "date"), _logical("long", "time-micros")]),
        ("uuid_or_long", [_logical("string", "uuid"), "long"]),
        ("null_last", ["string", "null"]),
    ),
    "recursive": {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "value", "type": "int"},
            {"name": "next", "type": ["null", "Node"]},
            {"name": "children", "type": {"type": "array", "items": "Node"}},
        ],
    },
    "top_level_union": ["null", "string", "long"],
    "top_level_array": {"type": "array", "items": "double"},
    "top_level_map": {"type": "map", "values": ENUM},
    "top_level_decimal": _decimal("bytes", 4, 4),
    "deep_arrays": {"type": "array", "items": "long"},
    "deep_records": {"type": "array", "items": "long"},
}
for _ in range(15):  # deeper than the generator nests inline: helper functions
    SYNTHETIC["deep_arrays"] = {"type": "array", "items": SYNTHETIC["deep_arrays"]}
SYNTHETIC["deep_records"] = _record("L0", ("x", ["null", "long"]))
for _level in range(1, 16):
    SYNTHETIC["deep_records"] = _record(
        f"L{_level}", ("x", "int"), ("down", ["null", SYNTHETIC["deep_records"]])
    )


# -- datum-form values for any schema --------------------------------------------------------

_EDGE_INTS = [0, 1, -1, 63, -64, 64, -65, 255, 256, -256, -257, 8191, -8192]
_UTC_MOMENTS = st.datetimes(timezones=st.just(UTC))
_TEXT = st.one_of(st.text(max_size=8), st.text(min_size=250, max_size=300))
_BYTES = st.one_of(st.binary(max_size=8), st.binary(min_size=250, max_size=300))


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [n for n in [*_EDGE_INTS, low, high, low + 1, high - 1] if low <= n <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _varint_edges(low: int, high: int) -> st.SearchStrategy[int]:
    """Values whose zig-zag varint changes length (7-bit boundaries)."""
    values = {low, high}
    for bits in range(7, 64, 7):
        for n in (2 ** (bits - 1) - 1, 2 ** (bits - 1), -(2 ** (bits - 1)), -(2 ** (bits - 1)) - 1):
            if low <= n <= high:
                values.add(n)
    return st.one_of(st.sampled_from(sorted(values)), _ints(low, high))


INT32 = _varint_edges(-(2**31), 2**31 - 1)
INT64 = _varint_edges(-(2**63), 2**63 - 1)


def _decimals(precision: int, scale: int, *, negative_zero: bool) -> st.SearchStrategy[Decimal]:
    bound = 10**precision - 1
    edges = [0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 32767, -32768, bound, -bound]
    unscaled = st.one_of(
        st.sampled_from([n for n in edges if -bound <= n <= bound]), st.integers(-bound, bound)
    )
    values = unscaled.map(lambda n: Decimal(f"{n}E-{scale}"))  # exact, whatever the context
    if negative_zero:
        values = st.one_of(values, st.just(Decimal(f"-0E-{scale}")))
    return values


Named = dict[str, st.SearchStrategy[Any]]


def values_for(
    schema: Any, namespace: str | None = None, named: Named | None = None, items: int = 3
) -> st.SearchStrategy[Any]:
    """Datum-form values of ``schema`` the fast path writes itself (no fallback)."""
    named = {} if named is None else named
    if isinstance(schema, list):
        return st.one_of([values_for(b, namespace, named, items) for b in schema])
    if isinstance(schema, str):
        if schema not in PRIMITIVES:
            qualified = full_name(schema, namespace)
            return st.deferred(lambda: named[qualified] if qualified in named else named[schema])
        return _PRIMITIVE[schema]()
    kind, logical = schema["type"], schema.get("logicalType")
    if kind in ("record", "error", "enum", "fixed"):
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        inner = qualified.rpartition(".")[0] or None
        strategy: st.SearchStrategy[Any]
        if kind in ("record", "error"):
            named[qualified] = st.deferred(lambda: strategy)
            strategy = st.fixed_dictionaries(
                {f["name"]: values_for(f["type"], inner, named, items) for f in schema["fields"]}
            )
        elif kind == "enum":
            strategy = st.sampled_from(schema["symbols"])
        elif logical == "decimal":
            strategy = _decimals(schema["precision"], schema.get("scale", 0), negative_zero=False)
        else:
            strategy = st.binary(min_size=schema["size"], max_size=schema["size"])
        named[qualified] = strategy
        return strategy
    if kind == "array":
        return st.lists(values_for(schema["items"], namespace, named, items), max_size=items)
    if kind == "map":
        return st.dictionaries(
            _TEXT, values_for(schema["values"], namespace, named, items), max_size=items
        )
    if logical is not None and (kind, logical) in _LOGICAL:
        return _LOGICAL[kind, logical](schema)
    return values_for(kind, namespace, named, items)


_PRIMITIVE: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "null": st.none,
    "boolean": st.booleans,
    "int": lambda: INT32,
    "long": lambda: INT64,
    "float": lambda: st.floats(width=32),  # NaN and infinities included
    "double": lambda: st.one_of(
        st.floats(), st.sampled_from([-0.0, math.inf, -math.inf, math.nan])
    ),
    "bytes": lambda: _BYTES,
    "string": lambda: _TEXT,
}
_LOGICAL: dict[tuple[str, str], Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    ("bytes", "decimal"): lambda s: _decimals(
        s["precision"], s.get("scale", 0), negative_zero=True
    ),
    # Sub-millisecond and pre-epoch moments too: fastavro floors, so does the fast path.
    ("long", "timestamp-millis"): lambda s: st.one_of(_UTC_MOMENTS, INT64),
    ("long", "timestamp-micros"): lambda s: st.one_of(_UTC_MOMENTS, INT64),
    ("long", "local-timestamp-millis"): lambda s: st.one_of(st.datetimes(), INT64),
    ("long", "local-timestamp-micros"): lambda s: st.one_of(st.datetimes(), INT64),
    ("int", "date"): lambda s: st.one_of(st.dates(), INT32),
    ("int", "time-millis"): lambda s: st.one_of(st.times(), INT32),
    ("long", "time-micros"): lambda s: st.one_of(st.times(), INT64),
    ("string", "uuid"): lambda s: st.uuids().map(str),
}


@pytest.mark.parametrize("name", list(SYNTHETIC))
@PROPERTY
@given(data=st.data())
def test_synthetic_schemas_are_written_by_the_fast_path_as_fastavro_does(
    name: str, data: st.DataObject
) -> None:
    schema = SYNTHETIC[name]
    datum = data.draw(_strategies(name))
    fast = compile_writer(schema).bind(_no_fallback)

    assert fast(datum) == fastavro_body(_parsed(name), datum)


_CACHE: dict[str, Any] = {}


def _parsed(name: str) -> Any:
    if name not in _CACHE:
        _CACHE[name] = parse_schema(SYNTHETIC[name])
    return _CACHE[name]


def _strategies(name: str) -> st.SearchStrategy[Any]:
    key = f"strategy:{name}"
    if key not in _CACHE:
        # Recursive and deeply nested schemas: at most one item per level keeps examples small.
        items = 1 if name in ("recursive", "deep_arrays", "deep_records") else 3
        _CACHE[key] = values_for(SYNTHETIC[name], items=items)
    strategy: st.SearchStrategy[Any] = _CACHE[key]
    return strategy


# -- ambiguous unions and arbitrary values: fastavro's bytes or a CodecError when it fails ------

AMBIGUOUS: dict[str, Any] = {
    "null_string_long": ["null", "string", "long"],
    "int_long": ["int", "long"],
    "float_long": ["float", "long"],
    "long_float": ["long", "float"],
    "int_double": ["null", "int", "double"],
    "boolean_int": ["int", "boolean"],
    "date_string": ["null", _logical("int", "date"), "string"],
    "timestamp_long": [TS_MILLIS, "string"],
    "two_records": [INNER, _record("Outer", ("id", "long"))],
    "record_map": [INNER, {"type": "map", "values": "long"}],
    "map_record": [{"type": "map", "values": "long"}, INNER],
    "array_bytes": [{"type": "array", "items": "int"}, "bytes"],
    "decimals": ["null", _decimal("bytes", 6, 2), _decimal("fixed", 6, 2, 4)],
    "fixed_decimal": ["null", _decimal("fixed", 6, 2, 4)],
    "enum_string": ["null", ENUM, "string"],
    "uuid": ["null", _logical("string", "uuid")],
    "array_of_unions": {"type": "array", "items": ["null", "int", "string"]},
    "record": _record(
        "Loose", ("n", "int"), ("d", "double"), ("t", TS_MILLIS), ("u", ["null", INNER])
    ),
}

_ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=5),
    st.sampled_from(["RED", "GREEN", "2024-01-31", "nope"]),
    st.binary(max_size=5),
    st.builds(bytearray, st.binary(max_size=4)),
    st.decimals(allow_nan=True, places=None).filter(lambda d: not d.is_snan()),
    st.sampled_from([Decimal("-0.00"), Decimal("1.5"), Decimal("1.234"), Decimal("12345.67")]),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.uuids(),
)
_ANY = st.recursive(
    _ANY_SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(
            st.sampled_from(["id", "tag", "n", "d", "t", "u", "-type"]), inner, max_size=4
        ),
    ),
    max_leaves=6,
)


@pytest.mark.parametrize("name", list(AMBIGUOUS))
@PROPERTY
@given(data=st.data())
def test_any_value_gives_fastavro_bytes_or_a_codec_error_when_fastavro_fails(
    name: str, data: st.DataObject
) -> None:
    schema = AMBIGUOUS[name]
    value = data.draw(st.one_of(values_for(schema), _ANY))
    try:
        expected: bytes | None = fastavro_body(parse_schema(schema), value)
    except Exception:
        expected = None

    if expected is None:
        with pytest.raises(CodecError, match="cannot encode"):
            writer_for(schema)(value)
    else:
        assert writer_for(schema)(value) == expected
