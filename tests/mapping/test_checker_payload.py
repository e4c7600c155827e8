"""Checks against a vendor's JSON Schema: required fields produced, and fixture payloads valid."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.errors import ConfigError
from martech_bus.mapping.checker import check_fixture_output, check_required_fields
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.spec import MappingSpec
from tests.mapping.helpers import mapping_text


def spec_of(output: str) -> MappingSpec:
    return parse_mapping(mapping_text(output), file="m.yaml")


def requiring(*names: str, **properties: Any) -> dict[str, Any]:
    """An object schema requiring ``names``."""
    return {"type": "object", "required": list(names), "properties": properties}


def missing(output: str, schema: dict[str, Any], **kw: Any) -> list[str]:
    return [p.message for p in check_required_fields(spec_of(output), schema, **kw)]


# -- required vendor fields ----------------------------------------------------------------------


def test_constants_and_directives_produce_required_fields() -> None:
    output = """
        event_name: Purchase
        event_id: {path: event_id}
        label: {template: '{{properties.order_id}}'}
        total: {coalesce: [properties.total, properties.subtotal]}
    """
    assert missing(output, requiring("event_name", "event_id", "label", "total")) == []


def test_a_required_field_the_mapping_does_not_produce_is_reported() -> None:
    (problem,) = check_required_fields(spec_of("event_name: Purchase"), requiring("action_source"))
    assert problem.message == (
        "required field action_source is not produced by the mapping (payload schema /)"
    )
    assert (problem.location.file, problem.location.path) == ("m.yaml", "action_source")


def test_a_required_field_under_if_without_else_may_be_missing() -> None:
    output = "source: {if: {path: context.ip, exists: true}, then: website}"
    (message,) = missing(output, requiring("source"))
    assert message.startswith(
        "required field source may be missing: it is produced under 'if' without 'else'"
    )


def test_a_required_field_under_if_with_else_is_produced() -> None:
    output = "source: {if: {path: context.ip, exists: true}, then: website, else: other}"
    assert missing(output, requiring("source")) == []


def test_a_nested_if_without_else_may_be_missing() -> None:
    output = """
        source:
          if: {path: context.ip, exists: true}
          then: {if: {path: context.user_agent, exists: true}, then: website}
          else: other
    """
    assert len(missing(output, requiring("source"))) == 1


def test_required_fields_of_nested_objects_are_checked() -> None:
    schema = requiring("user_data", user_data=requiring("em", "client_ip_address"))
    (message,) = missing("user_data: {em: [{path: properties.email}]}", schema)
    assert message.startswith("required field user_data.client_ip_address is not produced")
    assert message.endswith("(payload schema /properties/user_data)")


def test_required_fields_inside_each_items_are_checked() -> None:
    schema = requiring("contents", contents={"type": "array", "items": requiring("id", "price")})
    output = "contents: {each: properties.products, as: {id: {path: product_id}}}"
    (message,) = missing(output, schema)
    assert message.startswith("required field contents[*].price is not produced")


def test_required_fields_of_list_items_are_checked() -> None:
    schema = requiring("contents", contents={"type": "array", "items": requiring("id")})
    (message,) = missing("contents: [{id: 1}, {sku: 2}]", schema)
    assert message.startswith("required field contents[1].id is not produced")


def test_required_fields_are_checked_in_every_branch() -> None:
    schema = requiring("user", user=requiring("id"))
    output = (
        "user: {if: {path: user_id, exists: true}, then: {id: {path: user_id}}, else: {anon: 1}}"
    )
    (message,) = missing(output, schema)
    assert message.startswith("required field user.id is not produced")


def test_keys_of_a_literal_object_are_produced() -> None:
    schema = requiring("options", options=requiring("mode"))
    assert missing("options: {literal: {mode: fast}}", schema) == []


def test_the_item_pointer_selects_the_per_event_schema_through_refs() -> None:
    schema = {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "array", "items": {"$ref": "#/$defs/event"}}},
        "$defs": {"event": requiring("event_name", "event_time")},
    }
    (message,) = missing("event_name: Purchase", schema, item_pointer="/properties/data/items")
    assert message == (
        "required field event_time is not produced by the mapping "
        "(payload schema /properties/data/items)"
    )


def test_all_of_parts_are_merged() -> None:
    schema = {"allOf": [requiring("a"), {"$ref": "#/$defs/b"}], "$defs": {"b": requiring("b")}}
    assert missing("a: 1", schema) == [
        "required field b is not produced by the mapping (payload schema /)"
    ]


def test_a_pointer_to_nothing_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nothing at '/properties/nope'"):
        check_required_fields(spec_of("a: 1"), requiring("a"), item_pointer="/properties/nope")


def test_a_remote_ref_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="local refs only"):
        check_required_fields(spec_of("a: 1"), {"$ref": "https://example.com/s.json"})


# -- fixture payloads ----------------------------------------------------------------------------

BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["event_time"],
                "properties": {"event_time": {"type": "integer"}, "a/b": {"type": "string"}},
            },
        }
    },
}


def test_a_valid_payload_has_no_messages() -> None:
    assert check_fixture_output({"data": [{"event_time": 1}]}, BODY_SCHEMA) == []


def test_messages_name_the_json_pointer_of_each_wrong_value() -> None:
    body = {"data": [{"event_time": 1}, {"event_time": "soon", "a/b": 3}]}
    assert check_fixture_output(body, BODY_SCHEMA) == [
        "/data/1/a~1b: 3 is not of type 'string'",
        "/data/1/event_time: 'soon' is not of type 'integer'",
    ]


def test_a_problem_at_the_top_is_reported_at_the_root() -> None:
    assert check_fixture_output({}, BODY_SCHEMA) == ["(root): 'data' is a required property"]


def test_an_invalid_payload_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid payload schema"):
        check_fixture_output({}, {"type": "no-such-type"})
