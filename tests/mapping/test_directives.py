"""What each directive produces when a compiled mapping is applied."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from martech_bus.errors import MappingError
from tests.mapping.helpers import build

Event = dict[str, Any]


def test_a_constant_is_output_as_written() -> None:
    assert build("a: Purchase\nb: 3\nc: 1.5\nd: true\ne: null\n")({}) == {
        "a": "Purchase", "b": 3, "c": 1.5, "d": True, "e": None,
    }  # fmt: skip


def test_a_path_reads_the_event(event: Event) -> None:
    mapping = build(
        "id: {path: event_id}\nurl: {path: context.page.url}\nsku: {path: 'properties.products[0].sku'}"
    )
    assert mapping(event) == {
        "id": event["event_id"],
        "url": "https://shop.example/checkout",
        "sku": "SKU-1",
    }


def test_an_undefined_path_is_left_out_of_the_output(event: Event) -> None:
    assert build("a: {path: properties.nope}\nb: 1")(event) == {"b": 1}


def test_an_explicit_null_is_kept(event: Event) -> None:
    assert build("coupon: {path: properties.coupon}")(event) == {"coupon": None}


def test_a_path_through_null_is_undefined(event: Event) -> None:
    assert build("device_id: {path: context.device.id}")(event) == {}


def test_a_wildcard_path_yields_a_list(event: Event) -> None:
    assert build("skus: {path: 'properties.products[*].sku'}")(event) == {"skus": ["SKU-1", None]}


def test_dollar_is_the_whole_event(event: Event) -> None:
    assert build("all: {path: $}")(event)["all"] is event


def test_nested_objects_are_built(event: Event) -> None:
    mapping = build("user:\n  id: {path: user_id}\n  ip: {path: context.ip}\n  empty: {}\n")
    assert mapping(event) == {"user": {"id": "u-42", "ip": "203.0.113.9", "empty": {}}}


def test_an_object_whose_fields_are_all_undefined_is_kept_empty() -> None:
    assert build("user:\n  id: {path: user_id}\n")({}) == {"user": {}}


def test_output_keys_keep_their_file_order(event: Event) -> None:
    mapping = build("z: 1\na: {path: nope}\nm: {path: user_id}\nb: 2\n")
    assert list(mapping(event)) == ["z", "m", "b"]


def test_a_list_leaves_out_undefined_items_and_keeps_null(event: Event) -> None:
    mapping = build("ids: [{path: user_id}, {path: nope}, {path: anonymous_id}, x]")
    assert mapping(event) == {"ids": ["u-42", None, "x"]}


def test_a_template_fills_placeholders(event: Event) -> None:
    mapping = build("ref: {template: '{{properties.order_id}}-{{user_id}}'}")
    assert mapping(event) == {"ref": "ORD-1001-u-42"}


def test_a_template_renders_missing_and_null_as_empty(event: Event) -> None:
    mapping = build("ref: {template: '[{{properties.nope}}|{{properties.coupon}}]'}")
    assert mapping(event) == {"ref": "[|]"}


def test_a_template_renders_numbers_booleans_and_times(event: Event) -> None:
    mapping = build(
        "t: {template: '{{properties.total}} {{consent.marketing}} {{occurred_at}} "
        "{{properties.products[0].quantity}}'}"
    )
    assert mapping(event) == {"t": "59.9000 true 2024-05-01T12:00:00.250Z 2"}


def test_coalesce_takes_the_first_present_value(event: Event) -> None:
    mapping = build("who: {coalesce: [anonymous_id, properties.nope, user_id]}")
    assert mapping(event) == {"who": "u-42"}


def test_coalesce_with_nothing_present_is_undefined(event: Event) -> None:
    mapping = build("who: {coalesce: [anonymous_id, context.device.id]}")
    assert mapping(event) == {}


def test_a_default_replaces_undefined_and_null(event: Event) -> None:
    mapping = build(
        "a: {path: properties.coupon, default: NONE}\n"
        "b: {path: properties.nope, default: 0}\n"
        "c: {path: user_id, default: anon}\n"
    )
    assert mapping(event) == {"a": "NONE", "b": 0, "c": "u-42"}


def test_a_container_default_is_a_fresh_copy_each_time() -> None:
    mapping = build("tags: {path: nope, default: [a]}")
    first = mapping({})
    first["tags"].append("mutated")
    assert mapping({}) == {"tags": ["a"]}


def test_a_literal_is_output_verbatim_and_copied_each_time() -> None:
    mapping = build("data: {literal: {path: x, list: [1, {template: y}]}}")
    first = mapping({})
    assert first == {"data": {"path": "x", "list": [1, {"template": "y"}]}}
    first["data"]["list"].append(2)
    assert mapping({}) == {"data": {"path": "x", "list": [1, {"template": "y"}]}}


def test_a_literal_may_carry_transforms() -> None:
    assert build("a: {literal: Hello, transform: [upper]}")({}) == {"a": "HELLO"}


def test_object_allows_directive_names_as_output_keys(event: Event) -> None:
    mapping = build("page: {object: {path: {path: context.page.url}, required: yes_please}}")
    assert mapping(event) == {
        "page": {"path": "https://shop.example/checkout", "required": "yes_please"}
    }


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("{path: user_id, exists: true}", "then"),
        ("{path: anonymous_id, exists: true}", "else"),
        ("{path: properties.nope, exists: false}", "then"),
        ("{path: properties.coupon, blank: true}", "then"),
        ("{path: properties.nope, blank: true}", "then"),
        ("{path: properties.order_id, blank: false}", "then"),
        ("{path: properties.currency, equals: EUR}", "then"),
        ("{path: properties.currency, equals: USD}", "else"),
        ("{path: properties.currency, not_equals: USD}", "then"),
        ("{path: properties.currency, in: [USD, EUR]}", "then"),
        ("{path: properties.currency, not_in: [USD, EUR]}", "else"),
        ("{path: 'properties.products[0].quantity', equals: 2}", "then"),
        ("{path: consent.marketing, equals: true}", "then"),
        ("{path: consent.analytics, equals: 0}", "else"),
        ("{path: properties.coupon, equals: null}", "then"),
    ],
)
def test_if_chooses_a_branch(event: Event, condition: str, expected: str) -> None:
    mapping = build(f"a: {{if: {condition}, then: then, else: else}}")
    assert mapping(event) == {"a": expected}


def test_blank_counts_whitespace_and_empty_containers(event: Event) -> None:
    mapping = build("a: {if: {path: properties.x, blank: true}, then: blank, else: full}")
    for value, expected in (
        ("  ", "blank"),
        ([], "blank"),
        ({}, "blank"),
        (0, "full"),
        ("x", "full"),
    ):
        event["properties"]["x"] = value
        assert mapping(event) == {"a": expected}


def test_equals_never_confuses_booleans_and_numbers(event: Event) -> None:
    mapping = build("a: {if: {path: properties.flag, in: [1]}, then: one}")
    event["properties"]["flag"] = True
    assert mapping(event) == {}


def test_a_missing_branch_is_undefined(event: Event) -> None:
    assert build("a: {if: {path: user_id, exists: false}, then: x}")(event) == {}


def test_branches_are_full_values(event: Event) -> None:
    mapping = build(
        "a:\n  if: {path: properties.coupon, exists: true}\n"
        "  then: {path: properties.coupon, transform: [upper]}\n"
        "  else: {template: 'none for {{properties.order_id}}'}\n"
    )
    assert mapping(event) == {"a": "none for ORD-1001"}
    event["properties"]["coupon"] = "spring"
    assert mapping(event) == {"a": "SPRING"}


def test_each_maps_every_item_with_item_relative_paths(event: Event) -> None:
    mapping = build(
        "contents:\n  each: properties.products\n  as:\n"
        "    id: {path: product_id}\n    qty: {path: quantity}\n    sku: {path: sku}\n"
    )
    assert mapping(event) == {
        "contents": [{"id": "p-1", "qty": 2, "sku": "SKU-1"}, {"id": "p-2", "qty": 1, "sku": None}]
    }


def test_each_reaches_the_event_root_with_dollar(event: Event) -> None:
    mapping = build(
        "c:\n  each: properties.products\n  as: {id: {path: product_id}, cur: {path: $.properties.currency}}\n"
    )
    assert mapping(event) == {"c": [{"id": "p-1", "cur": "EUR"}, {"id": "p-2", "cur": "EUR"}]}


def test_each_item_shape_can_be_a_single_value(event: Event) -> None:
    mapping = build(
        "names: {each: properties.products, as: {path: $item.name, transform: [upper]}}"
    )
    assert mapping(event) == {"names": ["MUG", "TEA"]}


def test_each_leaves_out_undefined_items(event: Event) -> None:
    mapping = build("skus: {each: properties.products, as: {path: category}}")
    event["properties"]["products"][0].pop("category")
    assert mapping(event) == {"skus": ["food"]}


def test_each_over_a_wildcard_list(event: Event) -> None:
    mapping = build("skus: {each: 'properties.products[*].sku', as: {path: $item, default: none}}")
    assert mapping(event) == {"skus": ["SKU-1", "none"]}


def test_each_can_nest(event: Event) -> None:
    event["properties"]["products"][0]["tags"] = [{"t": "a"}, {"t": "b"}]
    mapping = build(
        "p:\n  each: properties.products\n  as:\n    id: {path: product_id}\n"
        "    tags: {each: tags, as: {template: '{{t}}@{{$.properties.order_id}}'}}\n"
    )
    assert mapping(event) == {
        "p": [{"id": "p-1", "tags": ["a@ORD-1001", "b@ORD-1001"]}, {"id": "p-2"}]
    }


def test_each_over_undefined_is_undefined_and_over_null_is_null(event: Event) -> None:
    mapping = build(
        "a: {each: properties.nope, as: {x: 1}}\nb: {each: properties.coupon, as: {x: 1}}"
    )
    assert mapping(event) == {"b": None}


def test_each_over_a_non_list_is_a_mapping_error(event: Event) -> None:
    mapping = build("a: {each: properties.order_id, as: {x: 1}}")
    with pytest.raises(MappingError, match="'each' expects a list, got str") as caught:
        mapping(event)
    assert caught.value.location.path == "a"


def test_required_raises_naming_the_output_field(event: Event) -> None:
    mapping = build(
        "user:\n  external_id: {path: context.device.id, required: true}\n", file="meta.yaml"
    )
    with pytest.raises(MappingError, match="required value is missing") as caught:
        mapping(event)
    location = caught.value.location
    assert (location.file, location.line, location.column) == ("meta.yaml", 5, 18)
    assert (location.path, location.version, location.event_id) == (
        "user.external_id", 7, event["event_id"],
    )  # fmt: skip


def test_required_refuses_null_too(event: Event) -> None:
    with pytest.raises(MappingError, match="required value is null"):
        build("a: {path: anonymous_id, required: true}")(event)


def test_required_inside_each_names_the_item(event: Event) -> None:
    mapping = build("c: {each: properties.products, as: {sku: {path: sku, required: true}}}")
    with pytest.raises(MappingError) as caught:
        mapping(event)
    assert caught.value.location.path == "c[1].sku"


def test_drop_null_drops_a_null_field(event: Event) -> None:
    mapping = build(
        "coupon: {path: properties.coupon, drop_null: true}\nid: {path: user_id, drop_null: true}"
    )
    assert mapping(event) == {"id": "u-42"}


def test_drop_null_in_a_branch_makes_the_field_undefined(event: Event) -> None:
    mapping = build(
        "a: {if: {path: user_id, exists: true}, then: {path: properties.coupon, drop_null: true}}"
    )
    assert mapping(event) == {}


def test_drop_nulls_at_the_top_drops_every_null(event: Event) -> None:
    mapping = build(
        "a: null\nb: {path: properties.coupon}\nc:\n  d: {path: anonymous_id}\n  e: 1\n"
        "f: [{path: properties.coupon}, 2]\n",
        extra="drop_nulls: true\n",
    )
    assert mapping(event) == {"c": {"e": 1}, "f": [2]}


def test_drop_nulls_still_lets_a_default_fill_in(event: Event) -> None:
    mapping = build("b: {path: properties.coupon, default: none}", extra="drop_nulls: true\n")
    assert mapping(event) == {"b": "none"}


def test_transforms_skip_undefined_and_null(event: Event) -> None:
    mapping = build(
        "a: {path: properties.coupon, transform: [upper]}\nb: {path: nope, transform: [upper]}"
    )
    assert mapping(event) == {"a": None}


def test_transforms_apply_in_order(event: Event) -> None:
    mapping = build("e: {path: properties.email, transform: [trim, lower, {truncate: 4}]}")
    assert mapping(event) == {"e": "jane"}


def test_a_transform_argument_may_read_the_event(event: Event) -> None:
    mapping = build(
        "a: {path: properties.order_id, transform: [{concat: ['/', {path: properties.currency}]}]}"
    )
    assert mapping(event) == {"a": "ORD-1001/EUR"}


def test_an_undefined_transform_argument_arrives_as_null(event: Event) -> None:
    mapping = build("a: {path: properties.order_id, transform: [{concat: ['/', {path: nope}]}]}")
    assert mapping(event) == {"a": "ORD-1001/"}


def test_a_default_applies_after_transforms(event: Event) -> None:
    mapping = build(
        "a: {path: properties.payment_method, transform: [{lookup: m}], default: OTHER}",
        lookups="lookups:\n  m: {paypal: PAYPAL}\n",
    )
    assert mapping(event) == {"a": "OTHER"}


def test_the_input_event_is_never_modified(event: Event) -> None:
    import copy

    before = copy.deepcopy(event)
    build(
        "a: {path: properties.products, default: []}\nb: {each: properties.products, as: {p: {path: price}}}"
    )(event)
    assert event == before


def test_output_values_are_the_events_own_objects_where_not_transformed(event: Event) -> None:
    out = build("total: {path: properties.total}")(event)
    assert out["total"] == Decimal("59.9000")
