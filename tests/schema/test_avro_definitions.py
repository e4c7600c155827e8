"""Strict checking of Avro schema definitions: every problem named with its place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import SchemaError
from martech_bus.schema.avro import (
    check_schema,
    fingerprints,
    parse_schema,
    read_schema_file,
)


def record(*fields: dict[str, Any], name: str = "Thing") -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields)}


def problems_of(schema: Any) -> list[str]:
    with pytest.raises(SchemaError) as caught:
        check_schema(schema, file="thing.avsc")
    return [str(p) for p in caught.value.problems]


def test_a_valid_record_passes() -> None:
    check_schema(record({"name": "a", "type": "string"}))


def test_an_unknown_type_is_named_with_its_field() -> None:
    (problem,) = problems_of(record({"name": "a", "type": "strnig"}))
    assert "thing.avsc" in problem
    assert "at Thing.a" in problem
    assert "unknown type 'strnig'" in problem


def test_duplicate_field_names_are_rejected() -> None:
    (problem,) = problems_of(record({"name": "a", "type": "int"}, {"name": "a", "type": "long"}))
    assert "duplicate field name 'a'" in problem


@pytest.mark.parametrize("name", ["1Thing", "Thi-ng", "", "a..b"])
def test_invalid_record_names_are_rejected(name: str) -> None:
    (problem,) = problems_of(record(name=name))
    assert "name" in problem


def test_invalid_field_names_are_rejected() -> None:
    (problem,) = problems_of(record({"name": "order-id", "type": "string"}))
    assert "invalid field name 'order-id'" in problem


@pytest.mark.parametrize(
    ("field_type", "default"),
    [
        ("int", "seven"),
        ("int", 2**31),
        ("int", True),
        ("boolean", 0),
        ("string", None),
        (["null", "string"], "x"),  # a union's default must match its FIRST branch
        ({"type": "array", "items": "int"}, ["a"]),
        ({"type": "map", "values": "int"}, {"k": "v"}),
        ({"type": "enum", "name": "E", "symbols": ["A"]}, "B"),
    ],
)
def test_defaults_that_do_not_match_their_type_are_rejected(field_type: Any, default: Any) -> None:
    (problem,) = problems_of(record({"name": "a", "type": field_type, "default": default}))
    assert "invalid default" in problem
    assert "at Thing.a" in problem


def test_a_union_default_matching_its_first_branch_is_accepted() -> None:
    check_schema(record({"name": "a", "type": ["string", "null"], "default": "x"}))


def test_nested_unions_are_rejected() -> None:
    (problem,) = problems_of(record({"name": "a", "type": ["null", ["int", "string"]]}))
    assert "may not directly contain another union" in problem


def test_a_union_listing_a_type_twice_is_rejected() -> None:
    (problem,) = problems_of(record({"name": "a", "type": ["int", "int"]}))
    assert "more than once" in problem


def test_a_record_without_fields_is_rejected() -> None:
    (problem,) = problems_of({"type": "record", "name": "Thing"})
    assert "needs a 'fields' list" in problem


def test_a_type_defined_twice_is_rejected() -> None:
    inner = {"type": "enum", "name": "Thing", "symbols": ["A"]}
    (problem,) = problems_of(record({"name": "a", "type": inner}))
    assert "defined more than once" in problem


def test_enum_symbols_must_be_unique_and_valid() -> None:
    problems = problems_of({"type": "enum", "name": "E", "symbols": ["A", "A", "b-c"]})
    assert any("unique" in p for p in problems)
    assert any("invalid enum symbol 'b-c'" in p for p in problems)


def test_decimal_scale_above_precision_is_rejected() -> None:
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 6}
    (problem,) = problems_of(record({"name": "a", "type": decimal}))
    assert "decimal scale" in problem


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        record({"name": "a", "type": "nope"}, {"name": "a", "type": "int", "default": "x"})
    )
    assert len(problems) == 3


def test_named_types_can_be_referenced_after_their_definition() -> None:
    point = {"type": "record", "name": "Point", "fields": [{"name": "x", "type": "int"}]}
    check_schema(record({"name": "a", "type": point}, {"name": "b", "type": "Point"}))


def test_a_recursive_record_is_valid() -> None:
    check_schema(record({"name": "next", "type": ["null", "Node"], "default": None}, name="Node"))


def test_invalid_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.avsc"
    path.write_text('{\n  "type": "record",\n  "name": }\n', encoding="utf-8")
    with pytest.raises(SchemaError) as caught:
        read_schema_file(path)
    assert f"{path}:3:11" in str(caught.value)


def test_an_unreadable_file_is_a_schema_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read schema file"):
        read_schema_file(tmp_path / "missing.avsc")


def test_parse_schema_accepts_json_text() -> None:
    parsed = parse_schema(json.dumps(record({"name": "a", "type": "int"})))
    assert parsed["name"] == "Thing"


def test_canonical_fingerprints_ignore_docs_and_custom_attributes() -> None:
    plain = fingerprints(record({"name": "email", "type": "string"}))
    annotated = fingerprints(
        record({"name": "email", "type": "string", "doc": "E.", "pii": "email"})
    )
    assert (plain.canonical, plain.sha256, plain.rabin64) == (
        annotated.canonical,
        annotated.sha256,
        annotated.rabin64,
    )


def test_fingerprints_match_the_avro_specification_example() -> None:
    # The spec's canonical form of "int" has a well-known CRC-64-AVRO fingerprint.
    assert fingerprints('"int"').canonical == '"int"'
    assert fingerprints('"int"').rabin64 == "8f5c393f1ad57572"


def test_the_content_digest_sees_logical_types_that_the_canonical_form_drops() -> None:
    def money(scale: int) -> dict[str, Any]:
        return record(
            {
                "name": "t",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": scale},
            }
        )

    assert fingerprints(money(2)).canonical == fingerprints(money(4)).canonical
    assert fingerprints(money(2)).content != fingerprints(money(4)).content


def test_the_content_digest_ignores_docs() -> None:
    plain = record({"name": "a", "type": "int"})
    assert fingerprints(plain).content == fingerprints(dict(plain, doc="About things.")).content


def test_deferred_fingerprints_are_the_same_value_computed_on_first_use() -> None:
    schema = record({"name": "email", "type": "string", "doc": "E."})
    eager, deferred = fingerprints(schema), fingerprints(schema, deferred=True)

    assert deferred.content == eager.content
    assert (deferred.canonical, deferred.sha256, deferred.rabin64) == (
        eager.canonical,
        eager.sha256,
        eager.rabin64,
    )
    assert deferred == eager
    assert hash(deferred) == hash(eager)
    assert repr(deferred) == repr(eager)
    assert repr(eager).startswith("Fingerprints(canonical='")


def test_deferred_fingerprints_stay_an_immutable_dataclass() -> None:
    import copy
    import dataclasses
    import pickle

    schema = record({"name": "a", "type": "int"})
    prints = fingerprints(schema, deferred=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prints.content = "x"  # type: ignore[misc]
    copied = pickle.loads(pickle.dumps(prints))  # before the deferred fields are computed
    assert copied == prints == copy.deepcopy(prints)
    assert dataclasses.asdict(prints) == dataclasses.asdict(fingerprints(schema))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = fingerprints(schema, deferred=True).nope


def test_a_field_whose_type_is_an_inline_object_is_checked_without_crashing() -> None:
    nested = {"type": {"type": "array", "items": "strnig"}}
    (problem,) = problems_of(record({"name": "a", "type": nested}))
    assert "unknown type 'strnig'" in problem
