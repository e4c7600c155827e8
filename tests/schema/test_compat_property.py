"""Cross-check against fastavro: whatever we call compatible, fastavro can really read.

Two schemas are derived from one small record by random mutations (one from the
other), and when ``check_compatibility`` accepts the pair, random writer data must decode with
the reader schema.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable, Iterator
from typing import Any

import fastavro
from fastavro.utils import generate_many
from hypothesis import event, given, settings
from hypothesis import strategies as st

from martech_bus.schema.compat import check_compatibility

PRIMITIVES = ["boolean", "int", "long", "float", "double", "string", "bytes"]
DEFAULTS: dict[str, Any] = {
    "boolean": False,
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "string": "",
    "bytes": "",
}

BASE: dict[str, Any] = {
    "type": "record",
    "name": "Item",
    "namespace": "prop",
    "fields": [
        {"name": "id", "type": "int"},
        {"name": "label", "type": "string"},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "score", "type": ["null", "float"], "default": None},
        {
            "name": "price",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "dims",
            "type": {
                "type": "record",
                "name": "Dims",
                "fields": [{"name": "w", "type": "int"}, {"name": "h", "type": "float"}],
            },
        },
    ],
}

Schema = dict[str, Any]
Mutation = Callable[[Schema, st.DataObject], None]


def _definitions(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in ``node`` (depth first), to find a type wherever mutations moved it."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _definitions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _definitions(item)


def _named(schema: Schema, name: str) -> dict[str, Any] | None:
    return next((d for d in _definitions(schema["fields"]) if d.get("name") == name), None)


def _primitive(data: st.DataObject) -> str:
    return data.draw(st.sampled_from(PRIMITIVES))


def _some_field(schema: Schema, data: st.DataObject) -> dict[str, Any] | None:
    fields = schema["fields"]
    return data.draw(st.sampled_from(fields)) if fields else None


def add_field(schema: Schema, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(["extra_a", "extra_b"]))
    type_ = _primitive(data)
    new: dict[str, Any] = {"name": name, "type": type_}
    if data.draw(st.booleans()):
        new["default"] = DEFAULTS[type_]
    if all(f["name"] != name for f in schema["fields"]):
        schema["fields"].append(new)


def remove_field(schema: Schema, data: st.DataObject) -> None:
    if (chosen := _some_field(schema, data)) is not None:
        schema["fields"].remove(chosen)


def change_type(schema: Schema, data: st.DataObject) -> None:
    candidates = [f for f in schema["fields"] if f["type"] in PRIMITIVES]
    if candidates:
        chosen = data.draw(st.sampled_from(candidates))
        chosen["type"] = _primitive(data)
        chosen.pop("default", None)


def make_optional(schema: Schema, data: st.DataObject) -> None:
    chosen = _some_field(schema, data)
    if chosen is not None and not isinstance(chosen["type"], list):
        chosen["type"] = ["null", chosen["type"]]
        chosen["default"] = None


def add_union_branch(schema: Schema, data: st.DataObject) -> None:
    unions = [f["type"] for f in schema["fields"] if isinstance(f["type"], list)]
    if unions:
        union = data.draw(st.sampled_from(unions))
        branch = _primitive(data)
        if branch not in union:
            union.append(branch)


def change_element(schema: Schema, data: st.DataObject) -> None:
    containers = [d for d in _definitions(schema["fields"]) if d.get("type") in ("array", "map")]
    if containers:
        container = data.draw(st.sampled_from(containers))
        container["items" if container["type"] == "array" else "values"] = _primitive(data)


def change_enum(schema: Schema, data: st.DataObject) -> None:
    color = _named(schema, "Color")
    if color is None:
        return
    change = data.draw(st.sampled_from(["add", "remove", "default"]))
    if change == "add" and "BLUE" not in color["symbols"]:
        color["symbols"].append("BLUE")
    elif change == "remove" and "GREEN" in color["symbols"]:
        color["symbols"].remove("GREEN")
    elif change == "default":
        color["default"] = "RED"


def rename_field(schema: Schema, data: st.DataObject) -> None:
    chosen = _some_field(schema, data)
    if chosen is not None and not chosen["name"].endswith("_v2"):
        if data.draw(st.booleans()):
            chosen["aliases"] = [chosen["name"]]
        chosen["name"] += "_v2"


def rename_record(schema: Schema, data: st.DataObject) -> None:
    dims = _named(schema, "Dims")
    if dims is not None:
        dims["name"] = "Size"
        if data.draw(st.booleans()):
            dims["aliases"] = ["Dims"]


def change_nested_field(schema: Schema, data: st.DataObject) -> None:
    dims = _named(schema, "Dims") or _named(schema, "Size")
    if dims is not None and dims["fields"]:
        data.draw(st.sampled_from(dims["fields"]))["type"] = _primitive(data)


def change_decimal(schema: Schema, data: st.DataObject) -> None:
    decimals = [d for d in _definitions(schema["fields"]) if d.get("logicalType") == "decimal"]
    if decimals:
        data.draw(st.sampled_from(decimals))["scale"] = data.draw(st.sampled_from([2, 3]))


MUTATIONS: list[Mutation] = [
    add_field,
    remove_field,
    change_type,
    make_optional,
    add_union_branch,
    change_element,
    change_enum,
    rename_field,
    rename_record,
    change_nested_field,
    change_decimal,
]


def mutated(schema: Schema, data: st.DataObject, min_size: int = 0) -> Schema:
    schema = copy.deepcopy(schema)
    for mutation in data.draw(st.lists(st.sampled_from(MUTATIONS), min_size=min_size, max_size=2)):
        mutation(schema, data)
    return schema


def ascii_bytes(value: Any) -> Any:
    """``value`` with every bytes value made ASCII.

    bytes -> string is a legal promotion, and fastavro decodes promoted bytes as strict
    UTF-8: random bytes would fail for reasons that have nothing to do with the schemas.
    """
    if isinstance(value, bytes):
        return value.hex().encode()
    if isinstance(value, dict):
        return {key: ascii_bytes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [ascii_bytes(item) for item in value]
    return value


def roundtrip(reader: Schema, writer: Schema, count: int = 5) -> None:
    """Write random ``writer`` data and read it back with ``reader`` (raises on failure)."""
    writer_parsed = fastavro.parse_schema(writer)
    reader_parsed = fastavro.parse_schema(reader)
    records = [ascii_bytes(record) for record in generate_many(writer_parsed, count)]
    buffer = io.BytesIO()
    for record in records:
        fastavro.schemaless_writer(buffer, writer_parsed, record)
    buffer.seek(0)
    for _ in records:
        fastavro.schemaless_reader(buffer, writer_parsed, reader_parsed)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.data())
def test_whatever_we_call_compatible_fastavro_can_read(data: st.DataObject) -> None:
    # One schema is a small mutation of the other, in either role: most pairs then differ
    # by a rule or two, which keeps both verdicts frequent.
    older = mutated(BASE, data)
    newer = mutated(older, data, min_size=1)
    reader, writer = data.draw(st.sampled_from([(newer, older), (older, newer)]))
    result = check_compatibility(reader, writer)
    event("compatible" if result else "incompatible")
    if result:
        roundtrip(reader, writer)
