"""Field-level differences between the direct and the bus payload."""

from __future__ import annotations

from martech_bus.shadow.diff import FieldDifference, diff_payloads


def test_equal_payloads_have_no_differences() -> None:
    payload = {"a": 1, "b": [{"c": "x"}], "d": None}
    assert diff_payloads(payload, payload) == []


def test_a_changed_leaf_is_reported_with_its_path_and_both_values() -> None:
    direct = {"data": [{"value": 10, "currency": "EUR"}]}
    bus = {"data": [{"value": 10, "currency": "USD"}]}
    assert diff_payloads(direct, bus) == [
        FieldDifference("data[0].currency", "changed", "EUR", "USD")
    ]


def test_a_field_missing_on_the_bus_and_one_only_on_the_bus_are_told_apart() -> None:
    assert diff_payloads({"a": 1}, {"b": 2}) == [
        FieldDifference("a", "missing_on_bus", 1, None),
        FieldDifference("b", "only_on_bus", None, 2),
    ]


def test_a_longer_list_on_one_side_reports_the_extra_items() -> None:
    assert diff_payloads({"l": [1]}, {"l": [1, 2]}) == [
        FieldDifference("l[1]", "only_on_bus", None, 2)
    ]


def test_an_int_and_an_equal_float_are_the_same_number() -> None:
    assert diff_payloads({"n": 1}, {"n": 1.0}) == []


def test_a_bool_is_not_the_number_one() -> None:
    assert diff_payloads({"n": True}, {"n": 1}) == [FieldDifference("n", "changed", True, 1)]


def test_a_number_rendered_as_text_is_a_difference() -> None:
    assert diff_payloads({"n": 10.5}, {"n": "10.5"}) == [
        FieldDifference("n", "changed", 10.5, "10.5")
    ]
