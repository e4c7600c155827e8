"""Schema resolution rules of ``check_compatibility``, each checked in both directions."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from martech_bus.errors import SchemaError
from martech_bus.schema.compat import CompatibilityResult, check_compatibility

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def record(name: str, *fields: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **attrs}


def field(name: str, type_: Any, **attrs: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **attrs}


def enum(name: str, *symbols: str, **attrs: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **attrs}


def decimal(precision: int, scale: int, physical: str = "bytes") -> dict[str, Any]:
    return {"type": physical, "logicalType": "decimal", "precision": precision, "scale": scale}


def logical(physical: str, name: str) -> dict[str, Any]:
    return {"type": physical, "logicalType": name}


def wrap(type_: Any) -> dict[str, Any]:
    """A record holding ``type_`` in field ``f``, so paths read ``R.f...``."""
    return record("R", field("f", type_))


def compatible(reader: Any, writer: Any) -> bool:
    return check_compatibility(reader, writer).compatible


def messages(reader: Any, writer: Any) -> list[str]:
    result = check_compatibility(reader, writer)
    assert not result.compatible
    return result.messages


# --- results and input forms ---------------------------------------------------------------


def test_compatible_result_is_truthy_and_has_no_messages() -> None:
    result = check_compatibility("long", "int")
    assert result == CompatibilityResult(True, [])
    assert bool(result) is True


def test_incompatible_result_is_falsy_and_explains() -> None:
    result = check_compatibility("int", "long")
    assert bool(result) is False
    assert result.messages == ["at int: long cannot be promoted to int"]


@pytest.mark.parametrize(
    "schema",
    [
        "string",
        '"string"',
        ' {"type": "string"} ',
        {"type": "string"},
        ["null", "string"],
        json.dumps(wrap(["null", "string"])),
    ],
    ids=["name", "json-name", "json-object", "dict", "list", "json-record"],
)
def test_accepts_json_text_and_parsed_values(schema: Any) -> None:
    assert compatible(schema, schema)


def test_null_name_is_the_null_schema_not_json_null() -> None:
    assert compatible("null", {"type": "null"})
    assert not compatible("null", "int")


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("nope", "unknown type 'nope'"),
        (5, "not int"),
        ("5", "not int"),
        (wrap("Missing"), "unknown type 'Missing'"),
        ({"type": "array"}, "missing attribute 'items'"),
        ({"type": "record", "name": "R", "fields": [{"name": "f"}]}, "missing 'type'"),
        (["int", ["null"]], "may not immediately contain another union"),
        (["int", "int"], "two branches of the same type"),
        (record("R", field("a", "int"), field("a", "long")), "duplicate field names"),
        ({"type": "enum", "name": "E", "symbols": "AB"}, "list of strings"),
        (record("R", field("a", enum("R", "X"))), "redefined named type"),
        (wrap(decimal(2, 4)), "scale"),
    ],
    ids=[
        "not-json",
        "unknown-name",
        "number",
        "json-number",
        "unknown-reference",
        "array-without-items",
        "field-without-type",
        "nested-union",
        "duplicate-branch",
        "duplicate-field",
        "symbols-not-list",
        "duplicate-name",
        "decimal-scale-above-precision",
    ],
)
@pytest.mark.parametrize("role", ["reader", "writer"])
def test_invalid_schema_raises_schema_error(schema: Any, fragment: str, role: str) -> None:
    valid = {"type": "string"}
    reader, writer = (schema, valid) if role == "reader" else (valid, schema)
    with pytest.raises(SchemaError, match=f"invalid {role} schema") as info:
        check_compatibility(reader, writer)
    assert fragment in str(info.value)


# --- records and fields ----------------------------------------------------------------------


def test_identical_records_are_compatible() -> None:
    schema = record("R", field("a", "int"), field("b", ["null", "string"], default=None))
    assert compatible(schema, schema)


def test_writer_only_field_is_skipped_but_reader_only_field_needs_a_default() -> None:
    old = record("R", field("a", "int"))
    new = record("R", field("a", "int"), field("b", "string"))
    assert compatible(old, new)
    assert messages(new, old) == [
        "at R.b: reader field 'b' has no default and is missing from the writer"
    ]


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        (["null", "string"], None),
        ("int", 0),
        ("string", "x"),
        ({"type": "array", "items": "int"}, []),
        ({"type": "map", "values": "int"}, {}),
    ],
    ids=["null", "int", "string", "array", "map"],
)
def test_reader_only_field_with_a_default_is_compatible_both_ways(type_: Any, default: Any) -> None:
    old = record("R", field("a", "int"))
    new = record("R", field("a", "int"), field("b", type_, default=default))
    assert compatible(new, old)
    assert compatible(old, new)


def test_field_order_does_not_matter() -> None:
    ab = record("R", field("a", "int"), field("b", "string"))
    ba = record("R", field("b", "string"), field("a", "int"))
    assert compatible(ab, ba)
    assert compatible(ba, ab)


def test_records_match_by_unqualified_name() -> None:
    v1 = record("R", field("a", "int"), namespace="shop.v1")
    v2 = record("R", field("a", "int"), namespace="shop.v2")
    assert compatible(v1, v2)
    assert compatible(v2, v1)


def test_records_with_different_names_do_not_match() -> None:
    old = record("Customer", field("a", "int"))
    new = record("Client", field("a", "int"))
    expected = "record Customer does not match reader record Client"
    assert expected in messages(new, old)[0]
    assert "record Client does not match reader record Customer" in messages(old, new)[0]


@pytest.mark.parametrize("alias", ["Customer", "crm.Customer"])
def test_reader_record_alias_matches_the_writer_name_one_way(alias: str) -> None:
    old = record("Customer", field("a", "int"), namespace="crm")
    new = record("Client", field("a", "int"), aliases=[alias])
    assert compatible(new, old)
    assert not compatible(old, new)


def test_reader_field_alias_reads_a_renamed_writer_field_one_way() -> None:
    old = record("R", field("mail", "string"))
    new = record("R", field("email", "string", aliases=["mail"]))
    assert compatible(new, old)
    assert messages(old, new) == [
        "at R.mail: reader field 'mail' has no default and is missing from the writer"
    ]


def test_field_alias_is_resolved_against_the_writer_field_type() -> None:
    old = record("R", field("mail", "int"))
    new = record("R", field("email", "string", aliases=["mail"]))
    assert messages(new, old) == ["at R.email: int cannot be promoted to string"]


def test_field_alias_does_not_take_a_writer_field_read_under_its_own_name() -> None:
    writer = record("R", field("a", "int"))
    reader = record("R", field("a", "int"), field("b", "string", aliases=["a"]))
    assert messages(reader, writer) == [
        "at R.b: reader field 'b' has no default and is missing from the writer"
    ]
    assert compatible(writer, reader)


def test_every_problem_is_reported() -> None:
    old = record("R", field("a", "int"), field("b", "string"), field("c", "long"))
    new = record("R", field("a", "string"), field("b", "int"), field("d", "long"))
    assert messages(new, old) == [
        "at R.a: int cannot be promoted to string",
        "at R.b: string cannot be promoted to int",
        "at R.d: reader field 'd' has no default and is missing from the writer",
    ]


@pytest.mark.parametrize(
    ("attrs"),
    [{"doc": "changed"}, {"pii": "email"}, {"format": "iso4217"}, {"x-owner": {"team": "crm"}}],
    ids=["doc", "pii", "format", "nested-custom"],
)
def test_custom_attributes_and_doc_do_not_affect_compatibility(attrs: dict[str, Any]) -> None:
    plain = record("R", field("a", "string"), field("c", enum("C", "A")))
    annotated = record(
        "R",
        field("a", {"type": "string", **attrs}, **attrs),
        field("c", enum("C", "A", **attrs)),
        **attrs,
    )
    assert compatible(plain, annotated)
    assert compatible(annotated, plain)


# --- nesting and paths -----------------------------------------------------------------------

ITEM_V1 = record("Item", field("price", "int"), field("sku", "string"))
ITEM_V2 = record("Item", field("price", "string"), field("sku", "string"))


@pytest.mark.parametrize(
    ("wrap_item", "path"),
    [
        (lambda item: item, "Order.item.price"),
        (lambda item: {"type": "array", "items": item}, "Order.item[].price"),
        (lambda item: {"type": "map", "values": item}, "Order.item{}.price"),
        (lambda item: ["null", item], "Order.item<Item>.price"),
        (
            lambda item: {"type": "array", "items": {"type": "map", "values": ["null", item]}},
            "Order.item[]{}<Item>.price",
        ),
    ],
    ids=["record", "array", "map", "union", "array-map-union"],
)
def test_nested_record_problems_name_their_path(wrap_item: Any, path: str) -> None:
    old = record("Order", field("item", wrap_item(ITEM_V1)))
    new = record("Order", field("item", wrap_item(ITEM_V2)))
    assert messages(new, old) == [f"at {path}: int cannot be promoted to string"]
    assert messages(old, new) == [f"at {path}: string cannot be promoted to int"]


def test_non_record_root_is_named_by_its_type() -> None:
    ints = {"type": "array", "items": "int"}
    strings = {"type": "array", "items": "string"}
    assert messages(strings, ints) == ["at array[]: int cannot be promoted to string"]


# --- primitives ------------------------------------------------------------------------------


@pytest.mark.parametrize(("writer", "reader"), sorted(PROMOTIONS))
def test_allowed_promotion_writer_to_reader(writer: str, reader: str) -> None:
    assert compatible(wrap(reader), wrap(writer))


@pytest.mark.parametrize(
    ("writer", "reader"),
    sorted(pair for pair in PROMOTIONS if pair[::-1] not in PROMOTIONS),
)
def test_numeric_promotion_is_refused_in_reverse(writer: str, reader: str) -> None:
    assert messages(wrap(writer), wrap(reader)) == [
        f"at R.f: {reader} cannot be promoted to {writer}"
    ]


@pytest.mark.parametrize(
    ("writer", "reader"),
    [
        (w, r)
        for w, r in itertools.product(PRIMITIVES, repeat=2)
        if w != r and (w, r) not in PROMOTIONS
    ],
)
def test_forbidden_primitive_change(writer: str, reader: str) -> None:
    assert messages(wrap(reader), wrap(writer)) == [
        f"at R.f: {writer} cannot be promoted to {reader}"
    ]


@pytest.mark.parametrize("primitive", PRIMITIVES)
def test_same_primitive_is_compatible(primitive: str) -> None:
    assert compatible(wrap(primitive), wrap({"type": primitive}))


@pytest.mark.parametrize(
    ("left", "right", "rule"),
    [
        ("int", record("Sub", field("a", "int")), "int cannot be read as record Sub"),
        ({"type": "array", "items": "int"}, {"type": "map", "values": "int"}, "cannot be read"),
        ("string", enum("E", "A"), "string cannot be read as enum E"),
        ("bytes", {"type": "fixed", "name": "F", "size": 4}, "bytes cannot be read as fixed F"),
    ],
    ids=["int-record", "array-map", "string-enum", "bytes-fixed"],
)
def test_different_kinds_do_not_match(left: Any, right: Any, rule: str) -> None:
    assert rule in messages(wrap(right), wrap(left))[0]
    assert not compatible(wrap(left), wrap(right))


# --- enums -----------------------------------------------------------------------------------


def test_reader_enum_with_more_symbols_reads_the_writer_enum_one_way() -> None:
    small = wrap(enum("Color", "RED", "GREEN"))
    large = wrap(enum("Color", "RED", "GREEN", "BLUE"))
    assert compatible(large, small)
    assert messages(small, large) == [
        "at R.f: writer enum symbol 'BLUE' unknown to reader enum Color, which has no default"
    ]


def test_every_unknown_enum_symbol_is_named() -> None:
    reader = wrap(enum("Color", "RED"))
    writer = wrap(enum("Color", "RED", "GREEN", "BLUE"))
    assert [m.split("'")[1] for m in messages(reader, writer)] == ["GREEN", "BLUE"]


def test_reader_enum_default_absorbs_unknown_symbols() -> None:
    with_default = wrap(enum("Color", "OTHER", "RED", default="OTHER"))
    larger = wrap(enum("Color", "RED", "GREEN"))
    assert compatible(with_default, larger)
    # A default on the writer side does not help the reader.
    assert "'OTHER' unknown to reader enum Color" in messages(larger, with_default)[0]


def test_enum_symbol_order_does_not_matter() -> None:
    assert compatible(enum("E", "A", "B"), enum("E", "B", "A"))


def test_enum_name_must_match_or_be_a_reader_alias() -> None:
    old = enum("Colour", "RED")
    new = enum("Color", "RED", aliases=["Colour"])
    assert compatible(new, old)
    assert "enum Color does not match reader enum Colour" in messages(old, new)[0]


# --- fixed -----------------------------------------------------------------------------------


def fixed(name: str, size: int, **attrs: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **attrs}


def test_fixed_with_same_name_and_size_is_compatible() -> None:
    assert compatible(wrap(fixed("Md5", 16)), wrap(fixed("Md5", 16, namespace="other")))


def test_fixed_size_change_is_breaking_both_ways() -> None:
    assert messages(wrap(fixed("Md5", 16)), wrap(fixed("Md5", 8))) == [
        "at R.f: fixed Md5 size changed from 8 to 16"
    ]
    assert messages(wrap(fixed("Md5", 8)), wrap(fixed("Md5", 16))) == [
        "at R.f: fixed Md5 size changed from 16 to 8"
    ]


def test_fixed_name_must_match_or_be_a_reader_alias() -> None:
    old = wrap(fixed("Hash", 16))
    new = wrap(fixed("Md5", 16, aliases=["Hash"]))
    assert compatible(new, old)
    assert "fixed Md5 does not match reader fixed Hash" in messages(old, new)[0]


# --- arrays and maps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "key", "mark"), [("array", "items", "[]"), ("map", "values", "{}")]
)
def test_arrays_and_maps_resolve_by_element(kind: str, key: str, mark: str) -> None:
    ints = wrap({"type": kind, key: "int"})
    longs = wrap({"type": kind, key: "long"})
    assert compatible(longs, ints)
    assert messages(ints, longs) == [f"at R.f{mark}: long cannot be promoted to int"]


# --- unions ----------------------------------------------------------------------------------


def test_reader_union_reads_a_non_union_writer_one_way() -> None:
    required = wrap("string")
    optional = wrap(["null", "string"])
    assert compatible(optional, required)
    assert messages(required, optional) == ["at R.f<null>: null cannot be promoted to string"]


def test_every_writer_branch_must_be_readable_by_a_reader_union() -> None:
    narrow = wrap(["null", "string"])
    wide = wrap(["null", "string", "int"])
    assert compatible(wide, narrow)
    assert messages(narrow, wide) == [
        "at R.f<int>: int matches no branch of reader union [null, string]"
    ]


def test_writer_union_is_readable_by_a_non_union_reader_when_every_branch_is() -> None:
    assert compatible(wrap("double"), wrap(["int", "long", "float"]))
    assert not compatible(wrap(["int", "long", "float"]), wrap("double"))


def test_reader_union_branch_may_be_reached_by_promotion() -> None:
    assert compatible(wrap(["null", "long"]), wrap("int"))
    assert messages(wrap("int"), wrap(["null", "long"])) == [
        "at R.f<null>: null cannot be promoted to int",
        "at R.f<long>: long cannot be promoted to int",
    ]


def test_reader_union_branch_order_does_not_matter_for_the_same_branches() -> None:
    assert compatible(wrap(["string", "null"]), wrap(["null", "string"]))
    assert compatible(wrap(["null", "string"]), wrap(["string", "null"]))


def test_reader_union_resolves_the_first_matching_branch_not_the_best_one() -> None:
    # bytes matches the "string" branch first (bytes -> string), which loses the decimal.
    money = decimal(10, 2)
    reader = wrap(["null", "string", money])
    assert messages(reader, wrap(money)) == ["at R.f: logical type decimal removed from bytes"]
    assert compatible(wrap(["null", money, "string"]), wrap(money))


def test_reader_union_record_branch_is_resolved_deeply() -> None:
    old = record("Order", field("item", ITEM_V1))
    new = record("Order", field("item", ["null", ITEM_V2]))
    assert messages(new, old) == ["at Order.item.price: int cannot be promoted to string"]
    assert messages(old, new) == [
        "at Order.item<null>: null cannot be read as record Item",
        "at Order.item<Item>.price: string cannot be promoted to int",
    ]


def test_union_record_branches_match_by_unqualified_name() -> None:
    a = {**ITEM_V1, "namespace": "a"}
    b = {**ITEM_V1, "namespace": "b"}
    assert compatible(wrap(["null", a]), wrap(["null", b]))
    assert compatible(wrap(["null", b]), wrap(a))


# --- named references and namespaces -------------------------------------------------------


ADDRESS = record("Address", field("zip", "string"))


def shop_order(address: dict[str, Any]) -> dict[str, Any]:
    """billing defines Address; shipping refers to it by its unqualified name."""
    return record(
        "Order",
        field("billing", address),
        field("shipping", "Address"),
        field("archived", {"type": "array", "items": "com.shop.Address"}),
        namespace="com.shop",
    )


def test_named_reference_resolves_in_the_enclosing_namespace() -> None:
    by_reference = shop_order(ADDRESS)
    inline = record(
        "Order",
        field("billing", ADDRESS),
        field("shipping", ADDRESS | {"namespace": "com.shop.copy"}),
        field("archived", {"type": "array", "items": "Address"}),
        namespace="com.shop",
    )
    assert compatible(inline, by_reference)
    assert compatible(by_reference, inline)


def test_named_reference_carries_changes_to_every_use() -> None:
    old = shop_order(ADDRESS)
    new = shop_order(record("Address", field("zip", "int")))
    assert messages(new, old) == [
        "at Order.billing.zip: string cannot be promoted to int",
        "at Order.shipping.zip: string cannot be promoted to int",
        "at Order.archived[].zip: string cannot be promoted to int",
    ]


def test_unqualified_reference_is_not_found_from_another_namespace() -> None:
    schema = record(
        "Order",
        field("billing", ADDRESS),
        field("crm", record("Contact", field("address", "Address"), namespace="com.crm")),
        namespace="com.shop",
    )
    with pytest.raises(SchemaError, match=r"unknown type 'com\.crm\.Address'"):
        check_compatibility(schema, schema)


def test_qualified_reference_reaches_another_namespace() -> None:
    contact = record("Contact", field("address", "com.shop.Address"), namespace="com.crm")
    schema = record("Order", field("billing", ADDRESS), field("crm", contact), namespace="com.shop")
    assert compatible(schema, schema)


def test_dotted_name_sets_the_namespace_for_nested_definitions() -> None:
    schema = record(
        "com.shop.Order",
        field("billing", ADDRESS),
        field("shipping", "com.shop.Address"),
        namespace="ignored.when.name.is.dotted",
    )
    assert compatible(schema, schema)


def null_namespace_address(referenced_from: str) -> dict[str, Any]:
    """Address lives in the null namespace; Holder (in ``referenced_from``) refers to it."""
    holder = record("Holder", field("address", "Address"), namespace=referenced_from)
    return record(
        "Order",
        field("billing", ADDRESS | {"namespace": ""}),
        field("holder", holder),
        namespace="com.shop",
    )


def test_empty_namespace_is_the_null_namespace() -> None:
    schema = null_namespace_address(referenced_from="")
    assert compatible(schema, schema)
    with pytest.raises(SchemaError, match=r"unknown type 'com\.shop\.Address'"):
        check_compatibility(null_namespace_address(referenced_from="com.shop"), "null")


# --- recursive types -------------------------------------------------------------------------


def linked_list(value: Any, *extra: dict[str, Any]) -> dict[str, Any]:
    return record("Node", field("value", value), field("next", ["null", "Node"]), *extra)


def test_recursive_type_is_compatible_with_itself() -> None:
    assert compatible(linked_list("int"), linked_list("int"))


def test_recursive_type_evolution_is_checked_both_ways() -> None:
    old = linked_list("int")
    new = linked_list("long", field("label", "string", default=""))
    assert compatible(new, old)
    assert messages(old, new) == ["at Node.value: long cannot be promoted to int"]


def test_recursive_type_problem_is_reported_once() -> None:
    old = linked_list("int")
    new = linked_list("int", field("label", "string"))
    assert messages(new, old) == [
        "at Node.label: reader field 'label' has no default and is missing from the writer"
    ]


def test_mutually_recursive_types() -> None:
    def tree(leaf: str) -> dict[str, Any]:
        forest = record("Forest", field("trees", {"type": "array", "items": "Tree"}))
        return record("Tree", field("leaf", leaf), field("children", ["null", forest]))

    assert compatible(tree("long"), tree("int"))
    assert messages(tree("int"), tree("long")) == ["at Tree.leaf: long cannot be promoted to int"]


def test_recursive_type_renamed_with_an_alias() -> None:
    old = linked_list("int")
    new = record(
        "Link",
        field("value", "int"),
        field("next", ["null", "Link"]),
        aliases=["Node"],
    )
    assert compatible(new, old)
    assert not compatible(old, new)


# --- logical types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "attribute"),
    [
        (decimal(10, 2), decimal(10, 4), "scale"),
        (decimal(10, 2), decimal(18, 2), "precision"),
        (
            {"type": "fixed", "name": "Money", "size": 8, **decimal(10, 2, "fixed")},
            {"type": "fixed", "name": "Money", "size": 8, **decimal(10, 4, "fixed")},
            "scale",
        ),
    ],
    ids=["scale", "precision", "fixed-scale"],
)
def test_decimal_change_is_breaking_both_ways(old: Any, new: Any, attribute: str) -> None:
    before, after = old[attribute], new[attribute]
    assert messages(wrap(new), wrap(old)) == [
        f"at R.f: decimal {attribute} changed from {before} to {after}"
    ]
    assert messages(wrap(old), wrap(new)) == [
        f"at R.f: decimal {attribute} changed from {after} to {before}"
    ]


def test_decimal_precision_and_scale_changes_are_both_named() -> None:
    assert messages(wrap(decimal(18, 4)), wrap(decimal(10, 2))) == [
        "at R.f: decimal precision changed from 10 to 18",
        "at R.f: decimal scale changed from 2 to 4",
    ]


def test_decimal_scale_defaults_to_zero() -> None:
    implicit = {"type": "bytes", "logicalType": "decimal", "precision": 10}
    assert compatible(wrap(implicit), wrap(decimal(10, 0)))
    assert compatible(wrap(decimal(10, 0)), wrap(implicit))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (logical("long", "timestamp-millis"), logical("long", "timestamp-micros")),
        (logical("long", "local-timestamp-millis"), logical("long", "local-timestamp-micros")),
        (logical("long", "timestamp-millis"), logical("long", "local-timestamp-millis")),
        (logical("int", "time-millis"), logical("long", "time-micros")),
        (logical("int", "date"), logical("int", "time-millis")),
    ],
    ids=["timestamp", "local-timestamp", "utc-local", "time", "date-time"],
)
def test_logical_type_change_is_breaking_both_ways(old: Any, new: Any) -> None:
    assert messages(wrap(new), wrap(old)) == [
        f"at R.f: logical type changed from {old['logicalType']} to {new['logicalType']}"
    ]
    assert not compatible(wrap(old), wrap(new))


@pytest.mark.parametrize(
    ("plain", "annotated"),
    [
        ("long", logical("long", "timestamp-millis")),
        ("int", logical("int", "date")),
        ("bytes", decimal(10, 2)),
        (
            {"type": "fixed", "name": "D", "size": 12},
            {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"},
        ),
    ],
    ids=["timestamp", "date", "decimal", "duration"],
)
def test_adding_or_removing_a_meaningful_logical_type_is_breaking(
    plain: Any, annotated: Any
) -> None:
    name = annotated["logicalType"]
    physical = "fixed" if annotated["type"] == "fixed" else annotated["type"]
    assert messages(wrap(annotated), wrap(plain)) == [
        f"at R.f: logical type {name} added to {physical}"
    ]
    assert messages(wrap(plain), wrap(annotated)) == [
        f"at R.f: logical type {name} removed from {physical}"
    ]


def test_logical_type_is_checked_across_a_promotion() -> None:
    assert messages(wrap("long"), wrap(logical("int", "date"))) == [
        "at R.f: logical type date removed from int"
    ]
    assert compatible(wrap("long"), wrap("int"))


@pytest.mark.parametrize(
    ("plain", "annotated"),
    [
        ("string", logical("string", "uuid")),
        ("string", logical("string", "email-address")),
        ("string", logical("string", "timestamp-millis")),
        ("long", {"type": "long", "logicalType": ["not", "a", "name"]}),
        ("bytes", {"type": "bytes", "logicalType": "decimal"}),
    ],
    ids=["uuid", "unknown", "misplaced", "malformed", "decimal-without-precision"],
)
def test_logical_type_that_does_not_change_meaning_is_ignored(plain: Any, annotated: Any) -> None:
    assert compatible(wrap(annotated), wrap(plain))
    assert compatible(wrap(plain), wrap(annotated))


def test_same_logical_type_is_compatible() -> None:
    stamp = logical("long", "timestamp-micros")
    assert compatible(wrap(stamp), wrap({**stamp, "doc": "when"}))


def test_shared_named_types_are_checked_once_per_pair_not_once_per_path() -> None:
    # Each level uses the next one twice: 2**40 paths, but only 40 record pairs to check.
    node = record("L40", field("v", "int"))
    for level in reversed(range(40)):
        node = record(f"L{level}", field("a", node), field("b", f"L{level + 1}"))
    assert compatible(node, node)
