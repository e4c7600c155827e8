"""The static mapping checker against Avro schemas: paths, versions, each, and transform types."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import Location, Problem
from martech_bus.mapping.checker import CheckProblem, check_mapping, is_warning
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.registry import TransformRegistry
from martech_bus.mapping.spec import MappingSpec
from martech_bus.mapping.transforms import new_registry
from martech_bus.schema.registry import SchemaRegistry


@pytest.fixture(scope="module")
def catalogue(schemas_dir: Path) -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir)


def _widget(version: int) -> dict[str, Any]:
    """A small schema exercising what the catalogue lacks: enums, general unions, named refs."""
    part = {"type": "record", "name": "Part", "fields": [{"name": "sku", "type": "string"}]}
    fields: list[dict[str, Any]] = [
        {"name": "id", "type": "string"},
        {"name": "parts", "type": {"type": "array", "items": part}},
        {"name": "spare", "type": ["null", "Part"], "default": None},
        {"name": "amount", "type": ["null", "string", "long"], "default": None},
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "BLUE"]}},
        {"name": "grid", "type": {"type": "array", "items": {"type": "array", "items": "long"}}},
    ]
    if version == 2:
        fields.append({"name": "weight", "type": "double", "default": 0.0})
    return {"type": "record", "name": "Widget", "namespace": "test", "fields": fields}


@pytest.fixture(scope="module")
def widgets(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    root = tmp_path_factory.mktemp("catalogue")
    (root / "registry.yaml").write_text("subjects:\n  widget: {compatibility: NONE}\n")
    (root / "widget").mkdir()
    for version in (1, 2):
        (root / "widget" / f"v{version}.avsc").write_text(json.dumps(_widget(version)))
    return SchemaRegistry.load(root)


def spec_of(
    output: str,
    *,
    versions: str = "[1, 2]",
    event: str = "order_completed",
    lookups: str = "",
    transforms: TransformRegistry | None = None,
) -> MappingSpec:
    """A mapping file around an ``output:`` body written at column 0 (it starts on line 4)."""
    body = textwrap.indent(textwrap.dedent(output).strip("\n"), "  ")
    header = f"mapping_version: 1\nsource: {{event: {event}, versions: {versions}}}\n{lookups}"
    return parse_mapping(f"{header}output:\n{body}\n", file="m.yaml", registry=transforms)


def check(output: str, registry: SchemaRegistry, **kw: Any) -> list[Problem]:
    transforms = kw.get("transforms")
    return check_mapping(spec_of(output, **kw), registry, transforms=transforms)


def messages(output: str, registry: SchemaRegistry, **kw: Any) -> list[str]:
    return [problem.message for problem in check(output, registry, **kw)]


# -- paths ---------------------------------------------------------------------------------------


def test_a_mapping_reading_existing_fields_of_every_kind_has_no_problems(
    catalogue: SchemaRegistry,
) -> None:
    output = """
        event_id: {path: event_id, required: true}
        time: {path: occurred_at, transform: [to_unix_seconds]}
        url: {path: context.page.url}
        marketing: {path: consent.marketing}
        first_sku: {path: 'properties.products[0].sku'}
        last_price: {path: 'properties.products[-1].price', transform: [{round: 2}]}
        skus: {path: 'properties.products[*].sku', transform: [{join: ','}]}
        em: [{path: properties.email, transform: [{sha256: email}]}]
        contents:
          each: properties.products
          as: {id: {path: product_id}, currency: {path: $.properties.currency}}
    """
    assert check(output, catalogue) == []


def test_a_misspelt_path_names_the_field_the_record_the_version_and_a_suggestion(
    catalogue: SchemaRegistry,
) -> None:
    assert messages("ship: {path: properties.shiping_method}", catalogue, versions="[2]") == [
        "path properties.shiping_method: no field 'shiping_method' in OrderCompletedProperties "
        "(schema order_completed v2; did you mean 'shipping_method'?)"
    ]


def test_a_problem_points_at_the_file_line_column_output_field_and_version(
    catalogue: SchemaRegistry,
) -> None:
    (problem,) = check("a: 1\nship: {path: properties.nope}", catalogue, versions="[2]")
    assert problem.location == Location(
        file="m.yaml", line=5, column=9, path="ship", schema="order_completed", version=2
    )
    assert isinstance(problem, CheckProblem) and problem.severity == "error"


def test_a_path_missing_from_every_version_is_one_error_across_versions(
    catalogue: SchemaRegistry,
) -> None:
    (problem,) = check("x: {path: properties.colour}", catalogue)
    assert problem.message.endswith("(schema order_completed v1, v2)")
    assert problem.location.version is None and not is_warning(problem)


def test_a_field_added_later_as_optional_is_a_warning_for_the_earlier_versions(
    catalogue: SchemaRegistry,
) -> None:
    (problem,) = check("ship: {path: properties.shipping_method}", catalogue)
    assert is_warning(problem) and problem.location.version == 1
    assert "it exists in v2, where it is optional" in problem.message
    assert str(problem).startswith("warning: m.yaml:4:9")


def test_a_field_added_later_as_never_null_is_an_error_for_the_earlier_versions(
    widgets: SchemaRegistry,
) -> None:
    (problem,) = check("w: {path: weight}", widgets, event="widget")
    assert not is_warning(problem) and problem.location.version == 1
    assert problem.message == (
        "path weight: no field 'weight' in Widget "
        "(schema widget v1; it exists in v2, where it is never null)"
    )


def test_a_default_does_not_hide_a_missing_path(catalogue: SchemaRegistry) -> None:
    assert len(check("x: {path: properties.nope, default: 1}", catalogue)) == 1


def test_stepping_into_a_scalar_is_reported(catalogue: SchemaRegistry) -> None:
    assert messages("x: {path: properties.order_id.id}", catalogue, versions="[1]") == [
        "path properties.order_id.id: properties.order_id is string, not a record: "
        "cannot read 'id' (schema order_completed v1)"
    ]


def test_a_key_on_a_list_suggests_an_index_or_a_wildcard(catalogue: SchemaRegistry) -> None:
    (message,) = messages("x: {path: properties.products.sku}", catalogue, versions="[1]")
    assert "properties.products is array<record Product>" in message
    assert message.endswith("; use [*] or [0] to read its items)")


def test_an_index_on_a_record_is_reported(catalogue: SchemaRegistry) -> None:
    (message,) = messages("x: {path: 'context[0]'}", catalogue, versions="[1]")
    assert "context is record Context, not a list: cannot read [0]" in message


def test_map_values_are_read_with_any_key(catalogue: SchemaRegistry) -> None:
    assert check("x: {path: consent.anything_at_all, transform: [{cast: str}]}", catalogue) == []


def test_named_type_references_are_resolved(widgets: SchemaRegistry) -> None:
    assert check("x: {path: spare.sku, transform: [lower]}", widgets, event="widget") == []
    (message,) = messages("x: {path: spare.skus}", widgets, event="widget")
    assert "no field 'skus' in Part" in message and "did you mean 'sku'?" in message


def test_nested_wildcards_flatten_into_one_list(widgets: SchemaRegistry) -> None:
    output = "x: {path: 'grid[*][*]', transform: [{join: ','}]}\ny: {each: 'grid[*][*]', as: {path: $item, transform: [{cast: str}]}}"
    assert check(output, widgets, event="widget") == []


# -- each, $ and $item -------------------------------------------------------------------


def test_paths_inside_each_resolve_against_the_item_record(catalogue: SchemaRegistry) -> None:
    (problem,) = check("c: {each: properties.products, as: {n: {path: nme}}}", catalogue)
    assert problem.location.path == "c[*].n"
    assert problem.message == (
        "path properties.products[*].nme: no field 'nme' in Product "
        "(schema order_completed v1, v2; did you mean 'name'?)"
    )


def test_root_paths_inside_each_resolve_against_the_event(catalogue: SchemaRegistry) -> None:
    output = "c: {each: properties.products, as: {a: {path: $.properties.currency}, b: {path: $.currency}}}"
    (message,) = messages(output, catalogue)
    assert message.startswith("path currency: no field 'currency' in OrderCompleted")


def test_item_paths_resolve_against_the_item(catalogue: SchemaRegistry) -> None:
    output = "c: {each: properties.products, as: {a: {path: $item.sku}, b: {path: $item.skew}}}"
    (message,) = messages(output, catalogue)
    assert message.startswith("path properties.products[*].skew: no field 'skew' in Product")


def test_the_item_of_a_wildcard_list_is_its_element(catalogue: SchemaRegistry) -> None:
    output = "c: {each: 'properties.products[*].sku', as: {path: $item, transform: [lower]}}"
    assert check(output, catalogue) == []


def test_each_over_a_value_that_is_not_a_list_is_reported(catalogue: SchemaRegistry) -> None:
    assert messages("c: {each: properties.order_id, as: {path: $item}}", catalogue) == [
        "'each' over properties.order_id needs a list, got string (schema order_completed v1, v2)"
    ]


def test_a_missing_each_source_does_not_cascade_into_its_items(catalogue: SchemaRegistry) -> None:
    (message,) = messages("c: {each: properties.prods, as: {id: {path: whatever}}}", catalogue)
    assert message.startswith("path properties.prods:")


def test_nested_each_items_resolve_against_the_inner_item(widgets: SchemaRegistry) -> None:
    output = "g: {each: grid, as: {each: $item, as: {path: $item, transform: [{cast: str}]}}}"
    assert check(output, widgets, event="widget") == []


# -- every read is checked --------------------------------------------------------------------


@pytest.mark.parametrize(
    "output",
    [
        "x: {coalesce: [user_id, anonymus_id]}",
        "x: {template: 'order {{properties.order_idd}}'}",
        "x: {if: {path: properties.cupon, exists: true}, then: 1}",
        "x: {path: properties.total, transform: [{minor_units: [{path: properties.curency}]}]}",
        "x: {if: {path: properties.coupon, exists: true}, then: {path: properties.cupon}}",
    ],
    ids=["coalesce", "template", "condition", "transform-argument", "branch"],
)
def test_every_kind_of_read_is_checked(output: str, catalogue: SchemaRegistry) -> None:
    (message,) = messages(output, catalogue, versions="[1]")
    assert "did you mean" in message


# -- unknown event and versions ------------------------------------------------------------------


def test_an_unknown_event_is_reported_with_a_suggestion(catalogue: SchemaRegistry) -> None:
    (problem,) = check("x: 1", catalogue, event="order_complete")
    assert problem.message.startswith(
        "unknown event 'order_complete'; did you mean 'order_completed'?"
    )
    assert problem.location.path == "source.event"


def test_an_unknown_version_names_the_known_ones_and_the_others_are_still_checked(
    catalogue: SchemaRegistry,
) -> None:
    unknown, missing = check("x: {path: properties.nope}", catalogue, versions="[1, 3]")
    assert unknown.message == "schema order_completed has no version 3 (known: v1, v2)"
    assert (unknown.location.path, unknown.location.version) == ("source.versions", 3)
    assert missing.location.version == 1


# -- transform types ----------------------------------------------------------------------------

MISMATCHES = [
    ("properties.total", "[lower]", "lower", "decimal(18,4)", "text"),
    ("properties.total", "[upper]", "upper", "decimal(18,4)", "text"),
    ("properties.products[0].quantity", "[trim]", "trim", "int", "text"),
    ("occurred_at", "[{truncate: 3}]", "truncate", "timestamp-millis", "text"),
    ("consent.marketing", "[{replace: {pattern: a}}]", "replace", "boolean", "text"),
    ("properties.total", "[{split: ','}]", "split", "decimal(18,4)", "text"),
    ("properties.total", "[{sha256: email}]", "sha256", "decimal(18,4)", "text"),
    ("properties.order_id", "[{join: ','}]", "join", "string", "a list"),
    ("properties.order_id", "[{round: 2}]", "round", "string", "a number or decimal"),
    ("properties.total", "[{cast: float}, {minor_units: [EUR]}]", "minor_units", "double", "a decimal or int amount"),
    ("properties.total", "[to_unix_seconds]", "to_unix_seconds", "decimal(18,4)", "a timestamp"),
    ("properties.total", "[to_unix_millis]", "to_unix_millis", "decimal(18,4)", "a timestamp"),
    ("consent.marketing", "[iso8601]", "iso8601", "boolean", "a timestamp"),
    ("properties.products[0].quantity", "[{date_format: '%Y'}]", "date_format", "int", "a timestamp"),
    ("consent.marketing", "[{cast: int}]", "cast", "boolean", "a number, decimal or integer text"),
    ("occurred_at", "[{cast: float}]", "cast", "timestamp-millis", "a number, decimal or numeric text"),
    ("properties.total", "[{cast: bool}]", "cast", "decimal(18,4)", "a boolean, 0/1 or true/false text"),
    ("properties.products", "[{cast: str}]", "cast", "array<record Product>", "a scalar"),
    ("properties.total", "[{lookup: {table: t}}]", "lookup", "decimal(18,4)", "text or an int"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "pipeline", "name", "received", "accepts"),
    MISMATCHES,
    ids=[f"{m[2]}-{m[3]}" for m in MISMATCHES],
)
def test_a_transform_given_a_type_it_does_not_accept_is_reported(
    catalogue: SchemaRegistry, path: str, pipeline: str, name: str, received: str, accepts: str
) -> None:
    output = f"out: {{path: '{path}', transform: {pipeline}}}"
    (problem,) = check(output, catalogue, versions="[1]", lookups="lookups: {t: {a: b}}\n")
    assert problem.message.startswith(
        f"transform {name!r} would receive {received} (from path {path}"
    )
    assert f"; it accepts {accepts}" in problem.message
    assert problem.location.path == "out" and problem.location.column is not None


ACCEPTED = [
    ("properties.order_id", "[trim, lower, {truncate: 5}, {replace: {pattern: x}}, upper]"),
    ("event_id", "[upper]"),
    ("properties.total", "[{round: 2}, {cast: float}, {round: 1}]"),
    ("properties.total", "[{minor_units: [{path: properties.currency}]}, {cast: str}]"),
    ("occurred_at", "[to_unix_millis, to_unix_seconds, iso8601, {date_format: '%Y'}]"),
    ("properties.order_id", "[{split: '-'}, {join: '_'}, lower]"),
    ("consent.marketing", "[{cast: str}, {cast: bool}, {cast: str}]"),
    ("properties.products[0].quantity", "[{cast: float}, {cast: int}, {cast: bool}]"),
    ("properties.products", "[json_encode, {sha256: as_is}]"),
    ("properties.products[0].quantity", "[{concat: [x]}, {lookup: {table: t}}]"),
]


@pytest.mark.parametrize(("path", "pipeline"), ACCEPTED, ids=[a[1] for a in ACCEPTED])
def test_the_type_is_tracked_through_a_pipeline_of_accepted_transforms(
    catalogue: SchemaRegistry, path: str, pipeline: str
) -> None:
    output = f"out: {{path: '{path}', transform: {pipeline}}}"
    assert check(output, catalogue, lookups="lookups: {t: {a: b}}\n") == []


def test_a_mismatch_after_earlier_transforms_names_them(catalogue: SchemaRegistry) -> None:
    (message,) = messages(
        "x: {path: occurred_at, transform: [to_unix_seconds, lower]}", catalogue, versions="[1]"
    )
    assert message.startswith(
        "transform 'lower' would receive long (from path occurred_at after to_unix_seconds)"
    )


def test_a_lookup_returns_the_type_of_its_table_values(catalogue: SchemaRegistry) -> None:
    output = (
        "x: {path: properties.order_id, transform: [{lookup: {table: t, default: 0}}, {round: 1}]}"
    )
    (message,) = messages(output, catalogue, versions="[1]", lookups="lookups: {t: {a: b}}\n")
    assert message.startswith("transform 'round' would receive string (from path")


def test_coalesce_checks_every_path_type(catalogue: SchemaRegistry) -> None:
    (message,) = messages(
        "x: {coalesce: [properties.order_id, properties.total], transform: [lower]}",
        catalogue,
        versions="[1]",
    )
    assert message.startswith("transform 'lower' would receive decimal(18,4) (from coalesce [")


def test_a_general_union_reports_the_branches_a_transform_refuses(widgets: SchemaRegistry) -> None:
    (message,) = messages("x: {path: amount, transform: [upper]}", widgets, event="widget")
    assert message.startswith("transform 'upper' would receive long (from path amount)")


def test_enums_are_text(widgets: SchemaRegistry) -> None:
    assert check("x: {path: color, transform: [lower]}", widgets, event="widget") == []


def test_constants_with_transforms_are_checked(catalogue: SchemaRegistry) -> None:
    (message,) = messages("x: {literal: 5, transform: [upper]}", catalogue, versions="[1]")
    assert message.startswith("transform 'upper' would receive long (from a constant)")


def test_user_transforms_accept_and_return_anything(catalogue: SchemaRegistry) -> None:
    registry = new_registry(entry_points=False)
    registry.register("shout", lambda value: value)
    output = "x: {path: properties.total, transform: [shout, lower]}"
    assert check(output, catalogue, transforms=registry) == []


def test_a_replaced_builtin_is_checked_as_a_user_transform(catalogue: SchemaRegistry) -> None:
    registry = new_registry(entry_points=False)
    registry.register("lower", lambda value: str(value).lower(), replace=True)
    assert (
        check("x: {path: properties.total, transform: [lower]}", catalogue, transforms=registry)
        == []
    )


def test_a_transform_unknown_to_the_given_registry_is_reported(catalogue: SchemaRegistry) -> None:
    spec = spec_of("x: {path: properties.order_id, transform: [lower]}")
    empty = new_registry(builtins=False, entry_points=False)
    (problem,) = check_mapping(spec, catalogue, transforms=empty)
    assert problem.message.startswith("unknown transform 'lower'")
