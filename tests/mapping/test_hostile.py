"""Text from a mapping file is data: it never becomes code in the generated function."""

from __future__ import annotations

import os
from typing import Any

import pytest

from martech_bus.errors import MappingError
from martech_bus.mapping.compiler import compile_mapping
from martech_bus.mapping.parser import spec_from_dict
from tests.mapping.helpers import build

PAYLOADS = (
    "__import__('os').system('x')",
    "'); import os; os.system('x'); #",
    '"""; import os; #',
    "{__import__('os').system('x')}",
    "\\n    import os\\n",
    "k0",
    "U",
    "fail_(0, 0, 0, {})",
    "\n".join(["line", "    return 1", "}"]),
)


@pytest.fixture
def no_system(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    return calls


def hostile_spec() -> dict[str, Any]:
    output: dict[str, Any] = {}
    for n, payload in enumerate(PAYLOADS):
        output[payload] = payload.replace(
            "{", "("
        )  # a key and a constant (braces would be a template hint)
        output[f"t{n}"] = {"template": payload + "{{properties.x}}" + payload}
        output[f"l{n}"] = {"literal": {payload: [payload]}}
        output[f"p{n}"] = {"path": "properties.x", "transform": [{"concat": [payload]}]}
        output[f"r{n}"] = {
            "path": "properties.x",
            "transform": [{"replace": {"pattern": "v", "with": payload.replace("\\", "/")}}],
        }
        output[f"d{n}"] = {"path": "properties.missing", "default": payload.replace("{", "(")}
        output[f"c{n}"] = {"if": {"path": "properties.x", "equals": payload}, "then": 1, "else": 0}
        output[f"look{n}"] = {
            "path": "properties.x",
            "transform": [{"lookup": {"table": "t", "default": payload}}],
        }
    return {
        "mapping_version": 1,
        "source": {"event": "order_completed", "versions": [1]},
        "lookups": {"t": {payload: payload for payload in PAYLOADS}},
        "output": output,
    }


def test_hostile_keys_and_values_come_out_as_plain_data(no_system: list[Any]) -> None:
    mapping = compile_mapping(spec_from_dict(hostile_spec()))
    result = mapping({"properties": {"x": "v"}})
    for n, payload in enumerate(PAYLOADS):
        assert result[payload] == payload.replace("{", "(")
        assert result[f"t{n}"] == payload + "v" + payload
        assert result[f"l{n}"] == {payload: [payload]}
        assert result[f"p{n}"] == "v" + payload
        assert result[f"d{n}"] == payload.replace("{", "(")
        assert result[f"c{n}"] == 0
    assert no_system == []


def test_no_text_from_the_mapping_reaches_the_generated_source() -> None:
    source = compile_mapping(spec_from_dict(hostile_spec())).source
    for payload in PAYLOADS:
        if len(payload) > 3:  # short ones (k0, U) are our own identifiers by design
            assert payload not in source
    assert "os" not in source.replace("pos", "")


def test_a_lookup_hit_on_a_hostile_key_is_just_a_value(no_system: list[Any]) -> None:
    mapping = compile_mapping(spec_from_dict(hostile_spec()))
    result = mapping({"properties": {"x": PAYLOADS[0]}})
    assert result["look0"] == PAYLOADS[0]
    assert result["c0"] == 1
    assert no_system == []


def test_dunder_names_in_paths_are_plain_dictionary_keys() -> None:
    mapping = build("a: {path: properties.__class__}\nb: {path: properties.__dict__}")
    assert mapping({"properties": "text"}) == {}
    assert mapping({"properties": {"__class__": "kept"}}) == {"a": "kept"}


def test_a_yaml_file_with_hostile_text_is_inert(no_system: list[Any]) -> None:
    mapping = build(
        """
        "__import__('os').system('x')": "'); import os; os.system('x'); #"
        t: {template: "\\"; import os; #{{properties.x}}"}
        """
    )
    assert mapping({"properties": {"x": 1}}) == {
        "__import__('os').system('x')": "'); import os; os.system('x'); #",
        "t": '"; import os; #1',
    }
    assert no_system == []


def test_a_hostile_transform_name_is_just_an_unknown_transform() -> None:
    with pytest.raises(MappingError, match="unknown transform"):
        build("a: {path: x, transform: [\"__import__('os')\"]}")
