"""The generated Avro writer: fastavro's union rules, edge encodings, fallback, errors, safety."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import CodecError, SchemaError
from martech_bus.schema import avro_writer as aw
from martech_bus.schema.avro import fingerprints, parse_schema
from martech_bus.schema.avro_writer import (
    LOGICAL_TYPES,
    compile_writer,
    diagnose,
    encode_long,
    fastavro_body,
    generated_encoder,
    writer_for,
    writer_source,
)
from martech_bus.schema.codec import AvroCodec, fastavro_encoder
from martech_bus.schema.registry import RegisteredSchema
from martech_bus.schema.validate import validator_for
from tests.schema.events import catalogue, order_completed_json


def fastavro(schema: Any, datum: Any) -> bytes:
    return fastavro_body(parse_schema(schema), datum)


def fast_only(schema: Any) -> aw.Writer:
    """The generated fast path alone: a datum it leaves to fastavro fails the test."""

    def refuse(datum: Any, exc: Exception) -> bytes:
        raise AssertionError(f"fell back to fastavro: {exc!r}")

    return compile_writer(schema).bind(refuse)


def counting(schema: Any) -> tuple[aw.Writer, list[Exception]]:
    """The writer with a fastavro fallback that records each use."""
    used: list[Exception] = []
    parsed = parse_schema(schema)

    def fallback(datum: Any, exc: Exception) -> bytes:
        used.append(exc)
        return fastavro_body(parsed, datum)

    return compile_writer(schema).bind(fallback), used


def record(*fields: tuple[str, Any], name: str = "R") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": [{"name": n, "type": t} for n, t in fields]}


# -- the union table is fastavro's behaviour -----------------------------------------------------

BRANCHES: dict[str, Any] = {
    "null": "null",
    "boolean": "boolean",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "bytes": "bytes",
    "string": "string",
    "uuid": {"type": "string", "logicalType": "uuid"},
    "decimal": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
    "fixed-decimal": {
        "type": "fixed",
        "name": "D",
        "size": 4,
        "logicalType": "decimal",
        "precision": 6,
        "scale": 2,
    },
    "timestamp-millis": {"type": "long", "logicalType": "timestamp-millis"},
    "timestamp-micros": {"type": "long", "logicalType": "timestamp-micros"},
    "local-timestamp-millis": {"type": "long", "logicalType": "local-timestamp-millis"},
    "local-timestamp-micros": {"type": "long", "logicalType": "local-timestamp-micros"},
    "date": {"type": "int", "logicalType": "date"},
    "time-millis": {"type": "int", "logicalType": "time-millis"},
    "time-micros": {"type": "long", "logicalType": "time-micros"},
    "enum": {"type": "enum", "name": "E", "symbols": ["RED", "GREEN"]},
    "fixed": {"type": "fixed", "name": "F", "size": 2},
    "array": {"type": "array", "items": "int"},
    "map": {"type": "map", "values": "int"},
    "record": record(),
}
#: Per dispatch type: a value every MAYBE branch takes, and one none of them takes.
VALUES: dict[aw._Cat, tuple[Any, Any]] = {
    aw._Cat.NONE: (None, None),
    aw._Cat.BOOL: (True, True),
    aw._Cat.INT: (5, 2**64),
    aw._Cat.FLOAT: (1.5, 1.5),
    aw._Cat.STR: ("RED", "nope"),
    aw._Cat.BYTES: (b"ab", b"abc"),
    aw._Cat.DECIMAL: (Decimal("1.00"), Decimal("1.00")),
    aw._Cat.DATETIME: (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)),
    aw._Cat.DATE: (date(2024, 1, 1), date(2024, 1, 1)),
    aw._Cat.TIME: (time(1, 2, 3), time(1, 2, 3)),
    aw._Cat.LIST: ([1], [1]),
    aw._Cat.DICT: ({}, {}),
}


def fastavro_picks(branch: Any, value: Any) -> bool | None:
    """In the union [branch]: True = picked, False = no branch matched, None = raised otherwise."""
    try:
        body = fastavro([branch], value)
    except ValueError as exc:
        return False if "do not match" in str(exc) else None
    except Exception:
        return None
    return body[:1] == b"\x00"


@pytest.mark.parametrize("kind", list(BRANCHES))
def test_the_union_table_says_what_fastavro_does(kind: str) -> None:
    branch = BRANCHES[kind]
    node = aw._Parser().parse(branch, None)
    union = aw._Node("union", branches=[node])

    for cat, (taken, refused) in VALUES.items():
        verdict = aw._verdict(node, cat, union)
        if verdict is aw._V.REJECT:
            assert fastavro_picks(branch, taken) is False, (kind, cat)
        elif verdict is aw._V.ACCEPT:
            assert fastavro_picks(branch, taken) is True, (kind, cat)
        elif verdict is aw._V.MAYBE:
            assert fastavro_picks(branch, taken) is True, (kind, cat)
            assert fastavro_picks(branch, refused) is False, (kind, cat)


@pytest.mark.parametrize(
    ("union", "value", "index"),
    [
        (["null", "string", "long"], None, 0),
        (["null", "string", "long"], "x", 1),
        (["null", "string", "long"], 7, 2),
        (["int", "long"], 2**31 - 1, 0),
        (["int", "long"], 2**31, 1),
        (["long", "int"], 5, 0),
        (["float", "double"], 1.5, 1),  # fastavro prefers a later double
        (["double", "float"], 1.5, 0),
        (["float", "string", "double"], 1.5, 2),
        (["int", "boolean"], True, 1),  # a bool is not an int for fastavro
        (["null", {"type": "enum", "name": "E", "symbols": ["A"]}, "string"], "A", 1),
        (["null", {"type": "enum", "name": "E", "symbols": ["A"]}, "string"], "B", 2),
        ([{"type": "fixed", "name": "F", "size": 2}, "bytes"], b"ab", 0),
        ([{"type": "fixed", "name": "F", "size": 2}, "bytes"], b"abc", 1),
    ],
)
def test_ambiguous_unions_choose_fastavros_branch_on_the_fast_path(
    union: list[Any], value: Any, index: int
) -> None:
    body = fast_only(union)(value)

    assert body == fastavro(union, value)
    assert body[:1] == encode_long(index)


# -- encodings at the edges --------------------------------------------------------------------


@pytest.mark.parametrize(
    "n",
    [0, -1, 1, 63, -64, 64, -65, 255, 256, -256, -257, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63)]
    + [2**k + d for k in range(6, 63, 7) for d in (-1, 0)],
)
def test_longs_are_zigzag_varints_as_fastavro_writes_them(n: int) -> None:
    assert encode_long(n) == fastavro("long", n)
    assert fast_only("long")(n) == fastavro("long", n)


def test_a_long_beyond_64_bits_is_not_written() -> None:
    with pytest.raises(OverflowError):
        encode_long(2**63)
    with pytest.raises(CodecError, match="cannot encode"):
        writer_for("long")(2**63)


@pytest.mark.parametrize(
    ("text", "scale"),
    [("-1.28", 2), ("1.28", 2), ("-1.27", 2), ("0.00", 2), ("-0.00", 2), ("9999.99", 2), ("5", 0)],
)
def test_bytes_decimals_are_fastavros_two_complement_bytes(text: str, scale: int) -> None:
    schema = {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": scale}

    assert fast_only(schema)(Decimal(text)) == fastavro(schema, Decimal(text))
    if text == "-1.28":  # fastavro's length is one byte longer than minimal here
        assert fast_only(schema)(Decimal(text)) == b"\x04\xff\x80"


def test_a_fixed_decimal_negative_zero_keeps_fastavros_quirk_through_the_fallback() -> None:
    schema = {
        "type": "fixed",
        "name": "D",
        "size": 4,
        "logicalType": "decimal",
        "precision": 6,
        "scale": 2,
    }
    writer, used = counting(schema)

    assert writer(Decimal("-0.00")) == fastavro(schema, Decimal("-0.00")) == b"\xff\xff\xff\xfe"
    assert len(used) == 1
    assert writer(Decimal("-1.28")) == b"\xff\xff\xff\x80" and len(used) == 1


def test_long_strings_arrays_and_maps_pass_the_small_length_tables() -> None:
    schema = record(
        ("text", "string"),
        ("items", {"type": "array", "items": "int"}),
        ("by_key", {"type": "map", "values": ["null", "string"]}),
        ("empty", {"type": "array", "items": "int"}),
    )
    datum = {
        "text": "é" * 20_000,
        "items": list(range(-500, 500)),
        "by_key": {f"k{i}": None if i % 2 else "v" * i for i in range(300)},
        "empty": [],
    }

    assert fast_only(schema)(datum) == fastavro(schema, datum)
    assert fast_only(schema)({**datum, "items": [], "by_key": {}, "text": ""}) == b"\x00" * 4


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 5, 17, 9, 30, 12, 345678, tzinfo=UTC),  # sub-millisecond: floored
        datetime(1960, 5, 17, 9, 30, 12, 345678, tzinfo=UTC),  # before the epoch: floored too
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("unit", ["millis", "micros"])
def test_timestamps_are_written_as_fastavro_floors_them(moment: datetime, unit: str) -> None:
    schema = {"type": "long", "logicalType": f"timestamp-{unit}"}

    assert fast_only(schema)(moment) == fastavro(schema, moment)


def test_dates_and_times_and_ints_for_them_take_the_fast_path() -> None:
    schema = record(
        ("day", {"type": "int", "logicalType": "date"}),
        ("ms", {"type": "int", "logicalType": "time-millis"}),
        ("us", {"type": "long", "logicalType": "time-micros"}),
        ("at", {"type": "long", "logicalType": "timestamp-millis"}),
    )
    objects = {"day": date(1969, 7, 20), "ms": time(23, 59, 59, 999999), "us": time(1, 2, 3, 4)}
    ints = {"day": -165, "ms": 86_399_999, "us": 3_723_000_004, "at": 1_715_938_212_345}
    datum = {**objects, "at": ints["at"]}

    assert fast_only(schema)(datum) == fastavro(schema, datum)
    assert fast_only(schema)(ints) == fastavro(schema, datum)


# -- datums outside datum form: fastavro writes them, or a CodecError says where ----------------

LOOSE = record(
    ("amount", "double"),
    ("ratio", "float"),
    ("id", {"type": "string", "logicalType": "uuid"}),
    ("tags", {"type": "array", "items": "string"}),
    ("blob", "bytes"),
    ("at", {"type": "long", "logicalType": "timestamp-millis"}),
    ("price", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
    ("flag", "boolean"),
    ("small", "int"),
    ("note", ["null", "string"]),
)
DATUM_FORM: dict[str, Any] = {
    "amount": 1.5,
    "ratio": 0.5,
    "id": "6f1c1d3e-8a4b-4c2d-9e0f-1a2b3c4d5e6f",
    "tags": ["a"],
    "blob": b"\x01",
    "at": datetime(2024, 5, 17, tzinfo=UTC),
    "price": Decimal("1.50"),
    "flag": True,
    "small": 1,
    "note": None,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 3),  # fastavro converts an int
        ("amount", Decimal("2.5")),
        ("ratio", 1e300),  # float32 overflow: fastavro writes infinity
        ("id", uuid.UUID("6f1c1d3e-8a4b-4c2d-9e0f-1a2b3c4d5e6f")),
        ("tags", ("a", "b")),
        ("blob", bytearray(b"\x01\x02")),
        ("at", datetime(2024, 5, 17, 11, tzinfo=timezone(timedelta(hours=2)))),
        ("at", datetime(2024, 5, 17)),  # naive: fastavro uses local time
        ("price", Decimal("1.5")),  # fewer places: fastavro rescales
        ("flag", 1),
        ("small", 2**40),  # fastavro writes an out-of-range int without complaint
        ("small", True),
    ],
)
def test_values_fastavro_accepts_outside_datum_form_get_fastavros_bytes(
    field: str, value: Any
) -> None:
    writer, used = counting(LOOSE)
    datum = {**DATUM_FORM, field: value}

    assert writer(datum) == fastavro(LOOSE, datum)
    assert len(used) == 1


def test_a_missing_field_fastavro_can_fill_is_left_to_fastavro() -> None:
    writer, used = counting(LOOSE)
    datum = {k: v for k, v in DATUM_FORM.items() if k != "note"}

    assert writer(datum) == fastavro(LOOSE, datum)
    assert len(used) == 1


def test_a_mapping_that_is_not_a_dict_is_read_by_fastavro_and_left_unchanged() -> None:
    from collections import defaultdict

    writer, used = counting(LOOSE)
    datum: defaultdict[str, Any] = defaultdict(list, DATUM_FORM)
    del datum["note"]  # fastavro reads it with .get: None; datum["note"] would insert []

    assert writer(datum) == fastavro(LOOSE, {**DATUM_FORM, "note": None})
    assert "note" not in datum and len(used) == 1


def test_the_datum_form_itself_never_falls_back() -> None:
    assert fast_only(LOOSE)(DATUM_FORM) == fastavro(LOOSE, DATUM_FORM)


@pytest.mark.parametrize(
    ("datum", "path", "found"),
    [
        ({**DATUM_FORM, "price": "a lot"}, "price", r"expected decimal\(9,2\), got str 'a lot'"),
        ({**DATUM_FORM, "note": 5}, "note", "expected one of null, string, got int 5"),
        ({**DATUM_FORM, "tags": ["a", 7]}, r"tags\[1\]", "expected string, got int 7"),
        ({k: v for k, v in DATUM_FORM.items() if k != "price"}, "price", "missing field 'price'"),
    ],
)
def test_what_neither_can_write_is_a_codec_error_naming_the_path(
    datum: dict[str, Any], path: str, found: str
) -> None:
    with pytest.raises(CodecError, match=f"cannot encode: not in datum form: {path}: {found}"):
        writer_for(LOOSE)(datum)


def order() -> dict[str, Any]:
    return validator_for(catalogue().get("order_completed", 2)).validate(order_completed_json())


def test_the_codec_reports_the_schema_version_and_path_of_a_bad_value() -> None:
    datum = order()
    datum["properties"] = {**datum["properties"], "products": list(datum["properties"]["products"])}
    datum["properties"]["products"][1] = {**datum["properties"]["products"][1], "price": 12.5}

    with pytest.raises(CodecError, match="cannot encode") as caught:
        AvroCodec(catalogue()).encode(datum, "order_completed")

    where = caught.value.location
    assert (where.schema, where.version) == ("order_completed", 2)
    assert where.path == "properties.products[1].price"
    assert "expected decimal(18,4), got float 12.5" in caught.value.message


def test_diagnose_lists_where_a_datum_leaves_datum_form() -> None:
    root = compile_writer(LOOSE).root
    datum = {**DATUM_FORM, "amount": 3, "flag": "yes"}

    assert [path for path, _ in diagnose(root, datum)] == ["amount", "flag"]
    assert diagnose(root, DATUM_FORM) == []


# -- the codec uses it ---------------------------------------------------------------------------


def test_the_codec_encodes_with_the_generated_writer_by_default() -> None:
    assert AvroCodec.make_encoder is not fastavro_encoder
    entry = catalogue().get("order_completed", 2)
    codec = AvroCodec(catalogue())

    assert codec.encode_body(order(), "order_completed") == fastavro_encoder(entry)(order())
    assert codec.decode(codec.encode(order(), "order_completed")) == (entry, order())


def test_generated_encoder_is_the_entry_writer_with_a_fastavro_fallback() -> None:
    entry = catalogue().get("order_completed", 2)
    encode = generated_encoder(entry)
    loose = {**order(), "schema_version": True}  # fastavro writes True as 1

    assert encode(order()) == fastavro_encoder(entry)(order())
    assert encode(loose) == fastavro_encoder(entry)(loose)


# -- compilation: cached per schema, recursion, depth --------------------------------------------


def test_a_schema_is_compiled_once_and_docs_do_not_matter() -> None:
    schema = record(("a", "long"), name="Cached")
    documented = {**schema, "doc": "a doc", "fields": [{**schema["fields"][0], "doc": "x"}]}

    assert compile_writer(schema) is compile_writer(json.dumps(schema))
    assert compile_writer(documented) is compile_writer(schema)


def test_recursive_records_are_functions_calling_themselves() -> None:
    schema = {
        "type": "record",
        "name": "Link",
        "fields": [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Link"]}],
    }
    datum: dict[str, Any] | None = None
    for i in range(200):
        datum = {"value": i, "next": datum}

    assert fast_only(schema)(datum) == fastavro(schema, datum)


def test_an_invalid_schema_is_a_schema_error() -> None:
    with pytest.raises(SchemaError):
        compile_writer({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]})


def test_the_generated_code_sees_only_a_few_builtins() -> None:
    function = compile_writer(record(("a", "string"), name="Builtins")).factory

    assert set(function.__globals__["__builtins__"]) <= {
        "bytearray",
        "bytes",
        "int",
        "len",
        "type",
        "Exception",
        "IndexError",  # a length past the table: the varint helper takes over
    }


# -- no code from data ---------------------------------------------------------------------------

HOSTILE_DOC = '"""\n\'); __import__("os").system("touch pwned") #'


def hostile_schema(names: list[str], symbols: list[str], namespace: str) -> dict[str, Any]:
    """One structure; every name, symbol, namespace, doc and default is a parameter."""
    enum = {"type": "enum", "name": names[0], "symbols": symbols, "doc": HOSTILE_DOC}
    inner = {
        "type": "record",
        "name": names[1],
        "fields": [{"name": names[2], "type": ["null", "string"], "default": None}],
    }
    return {
        "type": "record",
        "name": names[3],
        "namespace": namespace,
        "doc": HOSTILE_DOC,
        "fields": [
            {"name": names[4], "type": enum, "default": symbols[0]},
            {"name": names[5], "type": inner},
            {"name": names[6], "type": ["null", names[1]], "default": None},
            {"name": names[7], "type": "string", "default": HOSTILE_DOC},
            {"name": names[8], "type": {"type": "map", "values": names[0]}},
        ],
    }


# Valid Avro names that are Python keywords, builtins or the generator's own identifiers.
HOSTILE_NAMES = ["None", "True", "import", "exec", "d", "buf", "_c0", "_fallback", "encode"]
HOSTILE_SYMBOLS = ["__import__", "None", "_c1", "raise"]
PLAIN_NAMES = [f"n{i}" for i in range(9)]
PLAIN_SYMBOLS = ["A", "B", "C", "D"]


def test_schema_names_symbols_docs_and_defaults_never_reach_the_generated_source() -> None:
    hostile = hostile_schema(HOSTILE_NAMES, HOSTILE_SYMBOLS, "exec.eval")
    plain = hostile_schema(PLAIN_NAMES, PLAIN_SYMBOLS, "a.b")
    plain["doc"] = "plain"

    # The source depends on the structure only: renaming everything changes nothing.
    assert writer_source(hostile) == writer_source(plain)


def test_a_schema_with_hostile_names_writes_fastavros_bytes() -> None:
    schema = hostile_schema(HOSTILE_NAMES, HOSTILE_SYMBOLS, "exec.eval")
    n = HOSTILE_NAMES
    datum = {
        n[4]: "raise",
        n[5]: {n[2]: HOSTILE_DOC},
        n[6]: {n[2]: None},
        n[7]: HOSTILE_DOC,
        n[8]: {HOSTILE_DOC: "__import__", "None": "_c1"},
    }

    assert fast_only(schema)(datum) == fastavro(schema, datum)


def test_field_names_avro_would_reject_still_stay_out_of_the_source(tmp_path: Path) -> None:
    # Bypasses check_schema, which rejects these names: the generator itself must not care.
    marker = tmp_path / "pwned"
    evil = f"x'] or __import__('os').system('touch {marker}') or d['"
    schema = record((evil, "string"), ("a\nb", "long"), name="Evil")
    generator = aw._Generator()
    source = generator.module(aw._Parser().parse(schema, None))
    namespace: dict[str, Any] = {"__builtins__": aw._BUILTINS}
    exec(compile(source, "<test>", "exec"), namespace)

    def refuse(datum: Any, exc: Exception) -> bytes:
        raise exc

    encode = namespace["_factory"](*generator.params.values(), refuse)

    assert evil not in source and "a\nb" not in source and "pwned" not in source
    assert encode({evil: "v", "a\nb": 3}) == b"\x02v\x06"
    assert not marker.exists()


# -- laziness ----------------------------------------------------------------------------------


def test_importing_the_writer_does_not_import_fastavro() -> None:
    probe = (
        "import sys, json, martech_bus.schema.avro_writer, martech_bus.schema.codec; "
        "print(json.dumps('fastavro' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert json.loads(done.stdout) is False


def test_an_entry_built_by_hand_encodes_like_fastavro() -> None:
    schema = record(("m", {"type": "map", "values": "long"}), name="ByHand")
    entry = RegisteredSchema("by_hand", 1, 7, schema, fingerprints(schema))
    datum: Mapping[str, Any] = {"m": {"a": 1, "b": -1}}

    assert generated_encoder(entry)(datum) == fastavro_encoder(entry)(datum)


# -- logical types this module does not write: always fastavro's, whatever is registered --------


def test_an_unknown_logical_type_is_left_to_fastavro() -> None:
    schema = record(
        ("email", {"type": "string", "logicalType": "email"}),
        ("n", ["null", {"type": "long", "logicalType": "timestamp-nanos"}, "string"]),
    )
    writer, used = counting(schema)
    datum = {"email": "a@b.example", "n": "x"}

    assert writer(datum) == fastavro(schema, datum)
    assert len(used) == 1


def test_a_logical_writer_registered_in_fastavro_at_runtime_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastavro.logical_writers import LOGICAL_WRITERS

    # As confluent-kafka's schema registry does for "record-variant" when imported.
    monkeypatch.setitem(LOGICAL_WRITERS, "string-shout", lambda data, schema: data.upper())
    schema = record(("loud", {"type": "string", "logicalType": "shout"}), ("quiet", "string"))
    writer, used = counting(schema)

    assert writer({"loud": "hey", "quiet": "hey"}) == b"\x06HEY\x06hey"
    assert len(used) == 1


def test_every_logical_type_fastavro_writes_itself_is_written_here() -> None:
    from fastavro import logical_writers

    builtin = {k for k, f in logical_writers.LOGICAL_WRITERS.items() if "fastavro" in f.__module__}

    assert builtin == LOGICAL_TYPES
