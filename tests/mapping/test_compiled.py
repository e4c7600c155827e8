"""The compiled callable: API, runtime errors, robustness, and what it reads (input_paths)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import MappingError
from martech_bus.mapping import CompiledMapping, compile_mapping, load_compiled
from martech_bus.mapping import spec as spec_module
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.spec import InputPath
from tests.mapping.helpers import build, mapping_text

Event = dict[str, Any]


def test_load_compiled_reads_checks_and_compiles_a_file(tmp_path: Path, event: Event) -> None:
    path = tmp_path / "order_completed.yaml"
    path.write_text(mapping_text("id: {path: event_id}\nname: Purchase\n"))
    mapping = load_compiled(path)
    assert isinstance(mapping, CompiledMapping)
    assert mapping(event) == {"id": event["event_id"], "name": "Purchase"}
    assert mapping.apply(event) == mapping(event)
    assert mapping.spec.file == str(path)
    assert repr(mapping) == f"<CompiledMapping {path} v7>"
    assert mapping.accepts("order_completed", 1) and not mapping.accepts("order_completed", 9)


def test_compiling_again_gives_an_independent_callable(event: Event) -> None:
    spec = parse_mapping(mapping_text("id: {path: event_id}"))
    first, second = compile_mapping(spec), compile_mapping(spec)
    assert first is not second and first(event) == second(event)


def test_the_generated_function_holds_no_spec_nodes() -> None:
    mapping = build(
        "a: {path: x, transform: [trim]}\nb: {template: '{{x}}!'}\nc: {each: l, as: {path: y}}"
    )
    node_types = tuple(getattr(spec_module, name) for name in (
        "Const", "PathValue", "Coalesce", "Template", "Conditional", "Each", "ObjectValue", "ListValue",
        "MappingSpec", "TransformCall",
    ))  # fmt: skip
    cells = [cell.cell_contents for cell in mapping.apply.__closure__ or ()]
    assert cells and not any(isinstance(value, node_types) for value in cells)


def test_the_generated_code_runs_without_builtins() -> None:
    mapping = build("a: {path: x}")
    assert mapping.apply.__globals__ == {"__builtins__": {}}


@pytest.mark.parametrize("event", [None, [], "text", 42, {"properties": "oops"}])
def test_a_non_event_gives_constants_or_a_mapping_error(event: Any) -> None:
    assert build("a: {path: properties.x}\nb: 1")(event) == {"b": 1}
    with pytest.raises(MappingError, match="required value is missing"):
        build("a: {path: properties.x, required: true}")(event)


def test_an_event_id_is_only_reported_when_it_is_text() -> None:
    mapping = build("a: {path: x, required: true}")
    for event_id, expected in (("e-1", "e-1"), (123, None)):
        with pytest.raises(MappingError) as caught:
            mapping({"event_id": event_id})
        assert caught.value.location.event_id == expected


def test_a_value_a_template_cannot_render_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="cannot render a bytes value as text") as caught:
        build("a: {template: '<{{x}}>'}")({"x": b"raw"})
    assert caught.value.location.path == "a"


def test_an_error_inside_each_names_the_item_index() -> None:
    mapping = build("c: {each: items, as: {p: {path: price, transform: [{round: 2}]}}}")
    with pytest.raises(MappingError) as caught:
        mapping({"items": [{"price": 1}, {"price": "9.99"}]})
    assert caught.value.location.path == "c[1].p"
    assert "transform 'round' failed on a value of type str" in caught.value.message


def test_an_error_in_a_list_item_names_the_position() -> None:
    with pytest.raises(MappingError) as caught:
        build("em: [{path: x, transform: [lower]}]")({"x": 1})
    assert caught.value.location.path == "em[0]"


class Hostile(Mapping[str, Any]):
    """A mapping that fails on every read."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("no reads today")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_a_mapping_type_that_fails_on_read_gives_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="RuntimeError: no reads today") as caught:
        build("a: {path: properties.x}")(Hostile())
    assert caught.value.location.event_id is None


def test_input_paths_list_every_read_with_field_role_line_and_transforms() -> None:
    spec = parse_mapping(
        mapping_text(
            """
            id: {path: event_id, required: true}
            t: {path: occurred_at, transform: [to_unix_seconds]}
            ref: {template: '{{properties.order_id}}'}
            who: {coalesce: [user_id, anonymous_id]}
            c:
              if: {path: properties.coupon, exists: true}
              then: {path: properties.coupon, transform: [trim, upper]}
            cents: {path: properties.total, transform: [{minor_units: [{path: properties.currency}]}]}
            items:
              each: properties.products
              as:
                sku: {path: sku}
                cur: {path: $.properties.currency}
                again: {each: tags, as: {path: $item, transform: [lower]}}
            """
        )
    )
    rows = [(p.path, p.output, p.role, p.transforms, p.line) for p in spec.input_paths()]
    assert rows == [
        ("event_id", "id", "value", (), 4),
        ("occurred_at", "t", "value", ("to_unix_seconds",), 5),
        ("properties.order_id", "ref", "template", (), 6),
        ("user_id", "who", "coalesce", (), 7),
        ("anonymous_id", "who", "coalesce", (), 7),
        ("properties.coupon", "c", "condition", (), 9),
        ("properties.coupon", "c", "value", ("trim", "upper"), 10),
        ("properties.total", "cents", "value", ("minor_units",), 11),
        ("properties.currency", "cents", "argument", (), 11),
        ("properties.products", "items", "each", (), 13),
        ("properties.products[*].sku", "items[*].sku", "value", (), 15),
        ("properties.currency", "items[*].cur", "value", (), 16),
        ("properties.products[*].tags", "items[*].again", "each", (), 17),
        ("properties.products[*].tags[*]", "items[*].again[*]", "value", ("lower",), 17),
    ]
    assert all(isinstance(p, InputPath) for p in spec.input_paths())


@pytest.mark.parametrize(
    "module",
    ["martech_bus.mapping", "martech_bus.mapping.compiler", "martech_bus.mapping.transforms",
     "martech_bus.mapping.parser"],
)  # fmt: skip
def test_the_mapping_runtime_imports_neither_yaml_nor_pydantic(module: str) -> None:
    probe = f"import sys, json, {module}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert loaded.isdisjoint({"yaml", "pydantic", "importlib_metadata"})
