"""Path syntax and reading: a missing step is undefined, never an error."""

from __future__ import annotations

import re
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from martech_bus.mapping.paths import STAR, format_steps, get_index, get_key, parse_path, walk
from martech_bus.mapping.values import UNDEFINED


def read(obj: Any, text: str) -> Any:
    return walk(obj, parse_path(text).steps)


def test_a_dotted_path_parses_into_keys() -> None:
    path = parse_path("context.page.url")
    assert (path.anchor, path.steps) == ("scope", ("context", "page", "url"))


def test_indexes_and_wildcards_parse() -> None:
    assert parse_path("properties.products[0].sku").steps == ("properties", "products", 0, "sku")
    assert parse_path("a[-1]").steps == ("a", -1)
    assert parse_path("a[*].b").steps == ("a", STAR, "b")
    assert parse_path("a[*].b").has_wildcard


def test_dollar_anchors_at_the_event_root() -> None:
    assert parse_path("$.properties.currency").anchor == "root"
    assert parse_path("$").steps == ()


def test_dollar_item_anchors_at_the_current_item() -> None:
    path = parse_path("$item.sku")
    assert (path.anchor, path.steps) == ("item", ("sku",))
    assert parse_path("$item").steps == ()


def test_key_names_may_hold_dashes_and_digits() -> None:
    assert parse_path("consent.ad-storage").steps == ("consent", "ad-storage")
    assert parse_path("a.0").steps == ("a", "0")  # a key, not an index


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty path"),
        ("a..b", "expected a key name at character 3"),
        ("a.", "expected a key name after '.'"),
        (".a", "expected a key name at character 1"),
        ("a[x]", "expected [<integer>] or [*] at character 2"),
        ("a[0", "expected [<integer>] or [*]"),
        ("a b", "expected '.' or '[' at character 2"),
        ("$x", "expected a key name at character 1"),
        ("a.$item", "expected a key name at character 3"),
    ],
)
def test_an_invalid_path_says_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_path(text)


def test_format_steps_round_trips() -> None:
    for text in ("a.b[0][*].c", "properties.products[-1]", "x"):
        assert format_steps(parse_path(text).steps) == text


def test_a_missing_key_is_undefined() -> None:
    assert read({"a": {}}, "a.b") is UNDEFINED


def test_an_explicit_null_is_null() -> None:
    assert read({"a": {"b": None}}, "a.b") is None


def test_a_step_through_null_is_undefined() -> None:
    assert read({"a": None}, "a.b") is UNDEFINED


@pytest.mark.parametrize("value", ["text", 3, 1.5, True, [1, 2]])
def test_a_key_step_into_a_non_object_is_undefined(value: Any) -> None:
    assert read({"a": value}, "a.b") is UNDEFINED


def test_an_index_reads_lists_and_tuples() -> None:
    assert read({"a": [1, 2, 3]}, "a[1]") == 2
    assert read({"a": (1, 2, 3)}, "a[-1]") == 3


def test_an_index_out_of_range_is_undefined() -> None:
    assert read({"a": [1]}, "a[5]") is UNDEFINED
    assert read({"a": [1]}, "a[-2]") is UNDEFINED


@pytest.mark.parametrize("value", ["text", {"0": "x"}, 7, None])
def test_an_index_into_a_non_list_is_undefined(value: Any) -> None:
    assert read({"a": value}, "a[0]") is UNDEFINED


def test_a_wildcard_collects_and_skips_undefined_but_keeps_null() -> None:
    items = [{"sku": "A"}, {}, {"sku": None}, "junk", {"sku": "B"}]
    assert read({"p": items}, "p[*].sku") == ["A", None, "B"]


def test_a_wildcard_over_a_non_list_is_undefined() -> None:
    assert read({"p": {"sku": "A"}}, "p[*].sku") is UNDEFINED


def test_nested_wildcards_flatten() -> None:
    data = {"o": [{"l": [{"x": 1}, {"x": 2}]}, {"l": []}, {"l": [{"x": 3}]}, {}]}
    assert read(data, "o[*].l[*].x") == [1, 2, 3]


def test_the_empty_path_is_the_object_itself() -> None:
    data = {"a": 1}
    assert walk(data, ()) is data


def test_any_mapping_type_can_be_read() -> None:
    assert get_key(MappingProxyType({"a": 1}), "a") == 1
    assert get_key(OrderedDict(a=2), "a") == 2


def test_reading_never_creates_keys() -> None:
    from collections import defaultdict

    data: defaultdict[str, int] = defaultdict(int)
    assert get_key(data, "a") is UNDEFINED
    assert dict(data) == {}


def test_get_index_refuses_strings() -> None:
    assert get_index("abc", 0) is UNDEFINED
