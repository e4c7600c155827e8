"""Reading a mapping file into a spec: the grammar and every check, with positions.

Output bodies start on line 4, column 3 (after two header lines and ``output:``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.errors import MappingError
from martech_bus.mapping.parser import load_mapping, parse_mapping, spec_from_dict
from martech_bus.mapping.paths import parse_path
from martech_bus.mapping.spec import (
    Coalesce,
    Conditional,
    Const,
    Each,
    ListValue,
    ObjectValue,
    PathValue,
    Template,
)
from tests.mapping.helpers import HEADER, mapping_text, problems_of


def parsed(output: str, **kwargs: str) -> ObjectValue:
    return parse_mapping(mapping_text(output, **kwargs), file="m.yaml").output


def field(output: str, **kwargs: str) -> object:
    return parsed(output, **kwargs).fields[0][1]


def rejected(text: str) -> MappingError:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, file="m.yaml")
    return caught.value


def rejected_output(output: str, **kwargs: str) -> MappingError:
    return rejected(mapping_text(output, **kwargs))


def where(error: MappingError) -> tuple[int | None, int | None]:
    return error.location.line, error.location.column


# -- the file ---------------------------------------------------------------------------------


def test_a_minimal_file_gives_a_spec() -> None:
    spec = parse_mapping(mapping_text("name: Purchase"), file="m.yaml")
    assert (spec.mapping_version, spec.event, spec.versions) == (7, "order_completed", (1, 2))
    assert spec.output.fields == (("name", Const("Purchase", pos=spec.output.fields[0][1].pos)),)
    assert spec.file == "m.yaml" and spec.drop_nulls is False


def test_load_mapping_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "order_completed.yaml"
    path.write_text(mapping_text("id: {path: event_id}"))
    spec = load_mapping(path)
    assert spec.file == str(path)
    assert isinstance(spec.output.fields[0][1], PathValue)


def test_accepts_checks_the_event_and_version() -> None:
    spec = parse_mapping(mapping_text("a: 1"))
    assert spec.accepts("order_completed", 2)
    assert not spec.accepts("order_completed", 3)
    assert not spec.accepts("page_viewed", 1)


def test_an_unknown_top_level_key_is_an_error_with_a_hint() -> None:
    error = rejected(mapping_text("a: 1", extra="drop_null: true\n"))
    assert where(error) == (3, 1)
    assert "unknown key 'drop_null' at the top level; did you mean 'drop_nulls'?" in error.message
    assert error.location.path == "drop_null"


def test_missing_top_level_keys_are_all_reported() -> None:
    error = rejected("mapping_version: 1\n")
    messages = [p.message for p in problems_of(error)]
    assert messages == [
        "missing required top-level key 'source'",
        "missing required top-level key 'output'",
    ]


def test_mapping_version_must_be_a_positive_integer() -> None:
    error = rejected(mapping_text("a: 1").replace("mapping_version: 7", "mapping_version: '7'"))
    assert where(error) == (1, 18)
    assert "mapping_version must be an integer >= 1" in error.message


def test_source_event_must_be_a_string_with_a_quote_hint() -> None:
    text = "mapping_version: 1\nsource: {event: 12, versions: [1]}\noutput: {a: 1}\n"
    error = rejected(text)
    assert where(error) == (2, 17)
    assert error.location.path == "source.event"
    assert 'source.event must be a string, got int 12 (quote it: "12")' in error.message


def test_source_versions_must_be_distinct_positive_integers() -> None:
    text = "mapping_version: 1\nsource: {event: x, versions: [1, 1, 0]}\noutput: {a: 1}\n"
    messages = [(p.location.column, p.message) for p in problems_of(rejected(text))]
    assert messages == [
        (34, "version 1 is listed twice"),
        (37, "a schema version must be an integer >= 1, got int 0"),
    ]


def test_an_unknown_source_key_is_an_error_with_a_hint() -> None:
    text = "mapping_version: 1\nsource: {event: x, version: [1]}\noutput: {a: 1}\n"
    messages = [p.message for p in problems_of(rejected(text))]
    assert "unknown key 'version' in source; did you mean 'versions'?" in messages


def test_output_must_be_an_object() -> None:
    error = rejected(HEADER + "output: [1, 2]\n")
    assert where(error) == (3, 9)
    assert "output must be an object" in error.message


def test_output_may_be_an_object_directive() -> None:
    spec = parse_mapping(HEADER + "output: {object: {path: /checkout}}\n")
    assert spec.output.fields[0][0] == "path"


def test_every_problem_is_reported_at_once() -> None:
    error = rejected_output("a: {paht: x}\nb: {path: 'a..b'}\nc: {template: plain}\n")
    assert error.message == "3 problems in the mapping file"
    assert [p.location.line for p in error.problems] == [4, 5, 6]
    assert "3 problems" in str(error) and "m.yaml:5:" in str(error)


def test_a_spec_can_be_built_from_plain_data() -> None:
    spec = spec_from_dict(
        {
            "mapping_version": 1,
            "source": {"event": "order_completed", "versions": [1]},
            "output": {"id": {"path": "event_id"}},
        }
    )
    assert spec.output.fields[0][1] == PathValue(parse_path("event_id"))


# -- lookups ----------------------------------------------------------------------------------


def test_lookups_are_tables_of_scalars() -> None:
    spec = parse_mapping(
        mapping_text("a: 1", lookups="lookups:\n  methods: {card: CREDIT, cash: null}\n")
    )
    assert spec.lookups == {"methods": {"card": "CREDIT", "cash": None}}


def test_a_lookup_key_must_not_be_an_ambiguous_scalar() -> None:
    error = rejected(mapping_text("a: 1", lookups="lookups:\n  countries: {NO: Norway}\n"))
    assert where(error) == (4, 15)
    assert "quote it" in error.message


def test_a_lookup_value_must_be_a_scalar() -> None:
    error = rejected(mapping_text("a: 1", lookups="lookups:\n  t: {a: [1]}\n"))
    assert where(error) == (4, 10)
    assert error.location.path == "lookups.t.a"


# -- values and directives ----------------------------------------------------------------------


def test_a_bare_scalar_is_a_constant() -> None:
    assert isinstance(field("a: Purchase"), Const)


def test_a_plain_mapping_is_a_nested_object() -> None:
    value = field("user_data:\n  em: x\n")
    assert isinstance(value, ObjectValue) and value.fields[0][0] == "em"


def test_a_sequence_is_an_output_list() -> None:
    assert isinstance(field("a: [1, {path: event_id}]"), ListValue)


def test_each_directive_parses_to_its_node() -> None:
    output = parsed(
        """
        p: {path: event_id}
        c: {coalesce: [user_id, anonymous_id]}
        t: {template: "{{event_id}}!"}
        l: {literal: {path: x}}
        i: {if: {path: user_id, exists: true}, then: 1}
        e: {each: properties.products, as: {id: {path: product_id}}}
        o: {object: {transform: x}}
        """
    )
    kinds = [type(value) for _, value in output.fields]
    assert kinds == [PathValue, Coalesce, Template, Const, Conditional, Each, ObjectValue]
    assert output.fields[3][1] == Const({"path": "x"}, pos=output.fields[3][1].pos)


def test_a_misspelt_directive_key_is_never_a_nested_object() -> None:
    error = rejected_output("order_id: {paht: event_id}\n")
    assert where(error) == (4, 14)
    assert "'paht' looks like the directive key 'path' misspelt" in error.message
    assert "{object: {...}}" in error.message
    assert error.location.path == "output.order_id.paht"


@pytest.mark.parametrize(
    ("key", "directive"),
    [("Path", "path"), ("transforms", "transform"), ("requried", "required"),
     ("defualt", "default"), ("drop-null", "drop_null"), ("templat", "template")],
)  # fmt: skip
def test_near_misses_of_directive_keys_are_caught(key: str, directive: str) -> None:
    error = rejected_output(f"a: {{{key}: x}}\n")
    assert f"looks like the directive key {directive!r}" in error.message


@pytest.mark.parametrize("key", ["id", "value", "template_id", "paths_count", "name", "type"])
def test_ordinary_vendor_field_names_are_not_mistaken_for_directives(key: str) -> None:
    assert isinstance(field(f"data: {{{key}: 1}}\n"), ObjectValue)


def test_object_takes_keys_literally() -> None:
    value = field("page: {object: {path: {path: context.page.url}, default: home}}\n")
    assert isinstance(value, ObjectValue)
    assert [key for key, _ in value.fields] == ["path", "default"]


def test_an_unknown_key_in_a_directive_has_a_hint() -> None:
    error = rejected_output("a: {path: event_id, transfrom: [trim]}\n")
    assert where(error) == (4, 23)
    assert (
        "unknown key 'transfrom' in a 'path' directive; did you mean 'transform'?" in error.message
    )


def test_a_companion_key_with_the_wrong_head_says_where_it_belongs() -> None:
    error = rejected_output("a: {path: event_id, then: 1}\n")
    assert "unknown key 'then' in a 'path' directive; 'then' goes with 'if'" in error.message


def test_a_directive_without_a_head_is_an_error() -> None:
    error = rejected_output("a: {transform: [trim]}\n")
    assert where(error) == (4, 6)
    assert "this one has no head" in error.message


def test_a_directive_with_two_heads_is_an_error() -> None:
    error = rejected_output("a: {path: event_id, literal: x}\n")
    assert "several heads (path, literal)" in error.message


def test_a_path_must_be_a_string() -> None:
    error = rejected_output("a: {path: [event_id]}\n")
    assert where(error) == (4, 13)
    assert "a path must be a string, got a list" in error.message


def test_an_invalid_path_is_reported_where_it_is() -> None:
    error = rejected_output("a:\n  b: {path: 'x[y]'}\n")
    assert where(error) == (5, 15)
    assert error.location.path == "output.a.b"
    assert "expected [<integer>] or [*]" in error.message


def test_dollar_item_outside_each_is_an_error() -> None:
    error = rejected_output("a: {path: $item.sku}\n")
    assert "$item is only meaningful inside 'each'" in error.message


def test_a_constant_that_looks_like_a_path_is_an_error() -> None:
    error = rejected_output("order_id: properties.order_id\n")
    assert where(error) == (4, 13)
    assert "looks like a path: write {path: properties.order_id}" in error.message


@pytest.mark.parametrize("text", ["$", "USD", "context", "price.total", "https://x.example/a.b"])
def test_ordinary_text_constants_are_not_mistaken_for_paths(text: str) -> None:
    assert field(f"a: '{text}'\n") == Const(text, pos=field(f"a: '{text}'\n").pos)  # type: ignore[attr-defined]


def test_a_constant_that_looks_like_a_path_can_be_a_literal() -> None:
    value = field("a: {literal: properties.order_id}\n")
    assert value == Const("properties.order_id", pos=value.pos)  # type: ignore[attr-defined]


def test_a_constant_with_braces_must_be_a_template() -> None:
    error = rejected_output("a: 'order {{properties.order_id}}'\n")
    assert "write {template:" in error.message


def test_a_default_that_looks_like_a_path_is_an_error() -> None:
    error = rejected_output("a: {path: user_id, default: context.device.id}\n")
    assert "looks like a path" in error.message


def test_required_and_default_together_are_an_error() -> None:
    error = rejected_output("a: {path: user_id, default: x, required: true}\n")
    assert "drop 'required' or 'default'" in error.message


def test_required_must_be_a_boolean() -> None:
    error = rejected_output("a: {path: user_id, required: 'yes'}\n")
    assert where(error) == (4, 32)
    assert "required must be true or false" in error.message


def test_coalesce_needs_two_or_more_paths() -> None:
    error = rejected_output("a: {coalesce: [user_id]}\n")
    assert "coalesce takes a list of two or more paths" in error.message


def test_a_template_needs_a_placeholder() -> None:
    error = rejected_output("a: {template: Purchase}\n")
    assert "has no {{path}} placeholder" in error.message


def test_an_unclosed_template_placeholder_is_an_error() -> None:
    error = rejected_output("a: {template: '{{event_id}} {{user_id'}\n")
    assert "unclosed '{{'" in error.message


def test_a_wildcard_in_a_template_is_an_error() -> None:
    error = rejected_output("a: {template: '{{properties.products[*].sku}}'}\n")
    assert "wildcard [*] is not allowed here" in error.message


def test_template_parts_alternate_text_and_paths() -> None:
    value = field("a: {template: 'order {{ properties.order_id }}-{{event_id}}'}\n")
    assert isinstance(value, Template)
    assert value.parts == (
        "order ", parse_path("properties.order_id"), "-", parse_path("event_id"),
    )  # fmt: skip


def test_if_needs_a_branch() -> None:
    error = rejected_output("a: {if: {path: user_id, exists: true}}\n")
    assert "'if' needs 'then' and/or 'else'" in error.message


def test_a_condition_needs_exactly_one_test() -> None:
    error = rejected_output("a: {if: {path: user_id, exists: true, blank: true}, then: 1}\n")
    assert "exactly one of exists, blank, equals, in, not_equals, not_in" in error.message


def test_an_unknown_condition_key_has_a_hint() -> None:
    error = rejected_output("a: {if: {path: user_id, exist: true}, then: 1}\n")
    assert (
        "unknown key 'exist' in a condition; did you mean 'exists'?"
        in problems_of(error)[0].message
    )


def test_in_takes_a_non_empty_list() -> None:
    error = rejected_output("a: {if: {path: user_id, in: []}, then: 1}\n")
    assert "in takes a non-empty list of constants" in error.message


def test_each_needs_as() -> None:
    error = rejected_output("a: {each: properties.products}\n")
    assert "'each' needs 'as'" in error.message


# -- transforms in the spec -------------------------------------------------------------------


def test_an_unknown_transform_has_a_hint() -> None:
    error = rejected_output("a: {path: user_id, transform: [lowr]}\n")
    assert where(error) == (4, 34)
    assert "unknown transform 'lowr'; did you mean 'lower'?" in error.message


def test_a_single_transform_need_not_be_in_a_list() -> None:
    value = field("a: {path: user_id, transform: trim}\n")
    assert [call.name for call in value.mods.transforms] == ["trim"]  # type: ignore[attr-defined]


def test_a_missing_transform_argument_is_an_error() -> None:
    error = rejected_output("a: {path: user_id, transform: [truncate]}\n")
    assert "truncate(length) needs argument(s) 'length'" in error.message


def test_too_many_transform_arguments_is_an_error() -> None:
    error = rejected_output("a: {path: user_id, transform: [{truncate: [1, 2]}]}\n")
    assert "takes 1 argument(s), got 2" in error.message


def test_an_unknown_transform_argument_has_a_hint() -> None:
    error = rejected_output("a: {path: user_id, transform: [{replace: {patern: x}}]}\n")
    assert "has no argument 'patern'; did you mean 'pattern'?" in error.message


def test_a_directive_as_a_mapping_argument_gets_a_hint() -> None:
    error = rejected_output(
        "a: {path: properties.total, transform: [{minor_units: {path: properties.currency}}]}\n"
    )
    messages = [problem.message for problem in problems_of(error)]
    assert "looks like a path" in messages[0]
    assert "write it in a list: {minor_units: [{path: ...}]}" in messages[1]


def test_a_constant_only_argument_refuses_a_directive() -> None:
    error = rejected_output("a: {path: user_id, transform: [{truncate: [{path: properties.n}]}]}\n")
    assert "argument 'length' of 'truncate' must be a constant" in error.message


def test_a_bad_transform_argument_is_caught_at_load_time() -> None:
    error = rejected_output("a: {path: user_id, transform: [{replace: {pattern: '(', with: x}}]}\n")
    assert where(error) == (4, 34)
    assert "invalid regular expression" in error.message


def test_an_unknown_lookup_table_has_a_hint() -> None:
    error = rejected_output(
        "a: {path: properties.payment_method, transform: [{lookup: method}]}\n",
        lookups="lookups:\n  methods: {card: CARD}\n",
    )
    assert "no lookup table 'method' (tables: methods); did you mean 'methods'?" in error.message


def test_a_transform_step_must_be_a_name_or_a_one_key_mapping() -> None:
    error = rejected_output("a: {path: user_id, transform: [{trim: [], lower: []}]}\n")
    assert "a transform is a name" in error.message
