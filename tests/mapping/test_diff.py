"""Field-level diffs between two mapping versions."""

from __future__ import annotations

import textwrap

from martech_bus.mapping.diff import FieldChange, diff_mappings, render_diff
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.spec import MappingSpec


def spec_of(output: str, *, header: str = "") -> MappingSpec:
    top = header or "mapping_version: 1\nsource: {event: order_completed, versions: [1]}\n"
    body = textwrap.indent(textwrap.dedent(output).strip("\n"), "  ")
    return parse_mapping(f"{textwrap.dedent(top)}output:\n{body}\n", file="m.yaml")


def lines(old: str, new: str, **kw: str) -> list[str]:
    """The rendered changes from ``old`` to ``new`` outputs (headers via old_header/new_header)."""
    before = spec_of(old, header=kw.get("old_header", ""))
    after = spec_of(new, header=kw.get("new_header", ""))
    return render_diff(diff_mappings(before, after)).splitlines()


def test_identical_mappings_have_no_changes() -> None:
    spec = spec_of("a: {path: event_id}")
    assert diff_mappings(spec, spec) == []
    assert render_diff([]) == "no changes"


def test_positions_and_layout_are_not_changes() -> None:
    old = "a: {path: event_id, transform: [upper]}"
    new = "\n\na:\n  path: event_id\n  transform:\n    - upper"
    assert lines(old, new) == ["no changes"]


def test_an_added_field_is_described_in_full() -> None:
    old = "a: 1"
    new = "a: 1\nph: [{path: properties.phone, transform: [{sha256: phone}]}]"
    assert lines(old, new) == ["+ ph[0]: path properties.phone, transform [sha256 phone]"]


def test_a_removed_field_is_described_in_full() -> None:
    assert lines("a: 1\nb: {path: event_id, required: true}", "a: 1") == [
        "- b: path event_id, required true"
    ]


def test_a_changed_source_path() -> None:
    assert lines("v: {path: properties.total}", "v: {path: properties.revenue}") == [
        "~ v: path properties.total -> properties.revenue"
    ]


def test_a_changed_transform_pipeline() -> None:
    old = "custom_data: {value: {path: properties.total, transform: [{cast: float}]}}"
    new = "custom_data: {value: {path: properties.total, transform: [{round: 2}, {cast: float}]}}"
    assert lines(old, new) == [
        "~ custom_data.value: transform [cast float] -> [round 2, cast float]"
    ]


def test_changed_transform_arguments_show_named_and_directive_arguments() -> None:
    old = "v: {path: properties.total, transform: [{minor_units: [EUR]}]}"
    new = "v: {path: properties.total, transform: [{minor_units: [{path: properties.currency}]}]}"
    assert lines(old, new) == [
        "~ v: transform [minor_units EUR] -> [minor_units {path: properties.currency}]"
    ]


def test_a_changed_constant() -> None:
    assert lines("event_name: Purchase", "event_name: Order Completed") == [
        '~ event_name: constant Purchase -> "Order Completed"'
    ]


def test_a_changed_default() -> None:
    old = "c: {path: properties.coupon}"
    assert lines(old, "c: {path: properties.coupon, default: none}") == [
        "~ c: default (none) -> none"
    ]


def test_a_changed_required_flag() -> None:
    assert lines("e: {path: event_id}", "e: {path: event_id, required: true}") == [
        "~ e: required false -> true"
    ]


def test_a_changed_drop_null_flag() -> None:
    assert lines("e: {path: user_id}", "e: {path: user_id, drop_null: true}") == [
        "~ e: drop_null false -> true"
    ]


def test_a_changed_condition() -> None:
    old = "c: {if: {path: properties.coupon, blank: false}, then: yes_coupon}"
    new = "c: {if: {path: properties.coupon, in: [A, B]}, then: yes_coupon}"
    assert lines(old, new) == [
        "~ c: condition properties.coupon blank: false -> properties.coupon in: [A, B]"
    ]


def test_changed_and_removed_branches_of_a_conditional() -> None:
    old = "c: {if: {path: user_id, exists: true}, then: {path: user_id}, else: anon}"
    new = "c: {if: {path: user_id, exists: true}, then: {path: user_id, transform: [upper]}}"
    assert lines(old, new) == [
        "~ c<then>: transform [] -> [upper]",
        "- c<else>: constant anon",
    ]


def test_a_change_of_the_kind_of_value() -> None:
    assert lines(
        "r: {path: properties.order_id}", "r: {template: 'o-{{properties.order_id}}'}"
    ) == ['~ r: value path properties.order_id -> template "o-{{properties.order_id}}"']


def test_changes_inside_each_item_shapes() -> None:
    old = "contents: {each: properties.products, as: {id: {path: product_id}, q: {path: quantity}}}"
    new = "contents: {each: 'properties.products', as: {id: {path: sku}, n: {path: name}}}"
    assert lines(old, new) == [
        "~ contents[*].id: path product_id -> sku",
        "- contents[*].q: path quantity",
        "+ contents[*].n: path name",
    ]


def test_a_changed_each_source() -> None:
    old = "skus: {each: properties.products, as: {path: sku}}"
    new = "skus: {each: properties.items, as: {path: sku}}"
    assert lines(old, new) == ["~ skus: each properties.products -> properties.items"]


def test_changes_in_nested_objects_and_list_items() -> None:
    old = "user_data: {em: [{path: properties.email}], ip: {path: context.ip}}"
    new = "user_data: {em: [{path: properties.email}, {path: user_id}], ip: {path: context.ip}}"
    assert lines(old, new) == ["+ user_data.em[1]: path user_id"]


def test_a_new_object_lists_its_fields_not_itself() -> None:
    assert lines("a: 1", "a: 1\nuser: {id: {path: user_id}, ip: {path: context.ip}}") == [
        "+ user.id: path user_id",
        "+ user.ip: path context.ip",
    ]


def test_an_object_replaced_by_a_value_shows_the_kind_change_and_its_removed_fields() -> None:
    assert lines("user: {id: {path: user_id}}", "user: {path: user_id}") == [
        "~ user: value object -> path user_id",
        "- user.id: path user_id",
    ]


def test_a_removed_field_keeps_its_place_in_document_order() -> None:
    assert lines("a: 1\nb: 2\nc: 3", "a: 1\nc: 4") == ["- b: constant 2", "~ c: constant 3 -> 4"]


def test_header_changes_versions_event_mapping_version_and_drop_nulls() -> None:
    old = "mapping_version: 1\nsource: {event: order_completed, versions: [1]}\n"
    new = "mapping_version: 2\nsource: {event: checkout_started, versions: [1, 2]}\ndrop_nulls: true\n"
    assert lines("a: 1", "a: 1", old_header=old, new_header=new) == [
        "~ mapping_version: 1 -> 2",
        "~ source.event: order_completed -> checkout_started",
        "~ source.versions: [1] -> [1, 2]",
        "~ drop_nulls: false -> true",
    ]


def test_lookup_tables_and_entries_added_removed_and_changed() -> None:
    header = "mapping_version: 1\nsource: {event: order_completed, versions: [1]}\n"
    old = header + "lookups:\n  pay: {card: CARD, cash: CASH}\n  gone: {a: b}\n"
    new = header + "lookups:\n  pay: {card: CREDIT_CARD, paypal: PAYPAL}\n  fresh: {x: 1}\n"
    assert lines("a: 1", "a: 1", old_header=old, new_header=new) == [
        "~ lookups.pay.card: CARD -> CREDIT_CARD",
        "- lookups.pay.cash: CASH",
        "+ lookups.pay.paypal: PAYPAL",
        "- lookups.gone: {a: b}",
        "+ lookups.fresh: {x: 1}",
    ]


def test_a_change_is_a_value_with_its_parts() -> None:
    (change,) = diff_mappings(spec_of("v: {path: a}"), spec_of("v: {path: b}"))
    assert change == FieldChange("changed", "v", "path", "a", "b")
