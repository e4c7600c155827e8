"""Every built-in transform, through a compiled mapping, including its type errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from martech_bus.errors import MappingError
from martech_bus.mapping.transforms import BUILTIN_NAMES, REGISTRY
from tests.mapping.helpers import build


def apply(pipeline: str, value: Any, *, lookups: str = "", **extra: Any) -> Any:
    """Run ``value`` (at properties.x) through a pipeline; UNDEFINED results read as 'absent'."""
    mapping = build(f"out: {{path: properties.x, transform: {pipeline}}}", lookups=lookups)
    result = mapping({"event_id": "evt-1", "properties": {"x": value, **extra}})
    return result.get("out", "absent")


def failure(pipeline: str, value: Any, **extra: Any) -> MappingError:
    with pytest.raises(MappingError) as caught:
        apply(pipeline, value, **extra)
    return caught.value


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_builtin_is_registered() -> None:
    assert set(REGISTRY.names()) >= BUILTIN_NAMES
    assert {"lower", "upper", "trim", "truncate", "replace", "split", "join", "concat", "round",
            "cast", "to_unix_seconds", "to_unix_millis", "iso8601", "date_format", "lookup",
            "sha256", "minor_units", "json_encode"} == BUILTIN_NAMES  # fmt: skip


# -- errors name the transform, the field and the value's type ------------------------------


def test_a_wrong_type_names_the_transform_field_type_file_version_and_event() -> None:
    error = failure("[trim, lower]", 42)
    assert error.message == "transform 'trim' failed on a value of type int: expects a string"
    location = error.location
    assert (location.file, location.line, location.column) == ("m.yaml", 4, 41)
    assert (location.path, location.version, location.event_id) == ("out", 7, "evt-1")
    assert str(error).startswith("m.yaml:4:41, version 7, event evt-1, at out: transform 'trim'")


def test_the_original_exception_is_chained() -> None:
    error = failure("[upper]", 3)
    assert isinstance(error.__cause__, TypeError)


# -- text ----------------------------------------------------------------------------------------


def test_lower_upper_trim() -> None:
    assert apply("[lower]", "AbC") == "abc"
    assert apply("[upper]", "AbC") == "ABC"
    assert apply("[trim]", "  a b \n") == "a b"


def test_text_transforms_accept_str_subclasses() -> None:
    class Name(str):
        pass

    assert apply("[upper]", Name("x")) == "X"


def test_truncate() -> None:
    assert apply("[{truncate: 3}]", "abcdef") == "abc"
    assert apply("[{truncate: 10}]", "ab") == "ab"


def test_truncate_refuses_a_negative_length() -> None:
    with pytest.raises(MappingError, match="length must be at least 0"):
        build("a: {path: x, transform: [{truncate: -1}]}")


def test_replace_uses_a_regex_and_groups() -> None:
    assert apply(r"[{replace: {pattern: '\s+', with: ' '}}]", "a \t b") == "a b"
    assert apply(r"[{replace: {pattern: '(\d+)-(\d+)', with: '\2-\1'}}]", "12-34") == "34-12"
    assert apply(r"[{replace: {pattern: '[aeiou]'}}]", "banana") == "bnn"


def test_replace_with_a_bad_group_reference_fails_at_load_time() -> None:
    with pytest.raises(MappingError, match="invalid group reference"):
        build(r"a: {path: x, transform: [{replace: {pattern: 'a', with: '\2'}}]}")


def test_split_and_join() -> None:
    assert apply("[{split: ','}]", "a,b,,c") == ["a", "b", "", "c"]
    assert apply("[split]", " a  b ") == ["a", "b"]
    assert apply("[{join: '|'}]", ["a", 1, None, Decimal("1.50"), True]) == "a|1||1.50|true"


def test_join_refuses_a_non_list() -> None:
    assert "expects a list" in failure("[{join: ','}]", "abc").message


def test_split_refuses_an_empty_separator() -> None:
    with pytest.raises(MappingError, match="separator must not be empty"):
        build("a: {path: x, transform: [{split: ''}]}")


def test_concat_joins_constants_and_paths() -> None:
    assert apply("[{concat: ['-', {path: properties.y}, '!']}]", "a", y=2) == "a-2!"
    assert apply("[{concat: '@x'}]", 5) == "5@x"


# -- numbers -----------------------------------------------------------------------------------


def test_round_rounds_half_up_and_keeps_the_type() -> None:
    assert apply("[{round: 2}]", Decimal("2.675")) == Decimal("2.68")
    assert apply("[{round: 2}]", 2.675) == 2.68
    assert apply("[round]", Decimal("2.5")) == Decimal("3")
    assert apply("[{round: -2}]", 1250) == 1300
    assert apply("[{round: 1}]", 7) == 7


def test_round_refuses_text_and_booleans() -> None:
    assert "expects a number" in failure("[round]", "1.5").message
    assert "of type bool" in failure("[round]", True).message


@pytest.mark.parametrize(
    ("target", "value", "expected"),
    [
        ("int", "42", 42),
        ("int", " -7 ", -7),
        ("int", 3.0, 3),
        ("int", Decimal("12.000"), 12),
        ("float", Decimal("12.5"), 12.5),
        ("float", "1e3", 1000.0),
        ("float", 2, 2.0),
        ("str", Decimal("10.50"), "10.50"),
        ("str", True, "true"),
        ("str", 5, "5"),
        ("bool", "Yes", True),
        ("bool", "false", False),
        ("bool", 1, True),
        ("bool", False, False),
    ],
)
def test_cast_converts(target: str, value: Any, expected: Any) -> None:
    result = apply(f"[{{cast: {target}}}]", value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("target", "value", "message"),
    [
        ("int", 3.5, "not a whole number; round it first"),
        ("int", "3.5", "cannot cast '3.5' to int"),
        ("int", True, "expects a number"),
        ("float", "nan", "cannot cast 'nan' to float"),
        ("float", float("inf"), "refusing NaN or infinity"),
        ("str", [1], "use json_encode"),
        ("bool", "maybe", "cannot cast str 'maybe' to bool"),
        ("bool", 2, "cannot cast int"),
    ],
)
def test_cast_refuses_lossy_or_odd_input(target: str, value: Any, message: str) -> None:
    error = failure(f"[{{cast: {target}}}]", value)
    assert error.message.startswith("transform 'cast' failed on a value of type")
    assert message in error.message


def test_cast_to_an_unknown_type_fails_at_load_time() -> None:
    with pytest.raises(MappingError, match="type must be one of int, float, str, bool"):
        build("a: {path: x, transform: [{cast: decimal}]}")


def test_minor_units_uses_the_currency_from_a_path() -> None:
    pipeline = "[{minor_units: [{path: properties.currency}]}]"
    assert apply(pipeline, Decimal("59.9000"), currency="EUR") == 5990
    assert apply(pipeline, Decimal("1234"), currency="JPY") == 1234
    assert apply(pipeline, Decimal("1.2345"), currency="KWD") == 1235
    assert apply(pipeline, 3, currency="USD") == 300


def test_minor_units_rounds_half_up() -> None:
    assert apply("[{minor_units: EUR}]", Decimal("0.125")) == 13


def test_minor_units_refuses_floats_and_unknown_currencies() -> None:
    assert "expects a Decimal or int amount" in failure("[{minor_units: EUR}]", 1.5).message
    error = failure("[{minor_units: [{path: properties.currency}]}]", Decimal(1), currency="XXX")
    assert "unknown currency 'XXX'" in error.message
    error = failure("[{minor_units: [{path: properties.currency}]}]", Decimal(1))
    assert "currency must be an ISO 4217 code, got null" in error.message


def test_minor_units_checks_a_constant_currency_at_load_time() -> None:
    with pytest.raises(MappingError, match="unknown currency 'EURO'"):
        build("a: {path: x, transform: [{minor_units: EURO}]}")


# -- time ---------------------------------------------------------------------------------------

WHEN = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
MILLIS = 1714564800250


@pytest.mark.parametrize(
    "value",
    [WHEN, WHEN.astimezone(timezone(timedelta(hours=2))), "2024-05-01T12:00:00.250Z",
     "2024-05-01T14:00:00.250+02:00", MILLIS],
)  # fmt: skip
def test_time_transforms_accept_datetimes_iso_strings_and_epoch_millis(value: Any) -> None:
    assert apply("[to_unix_seconds]", value) == 1714564800
    assert apply("[to_unix_millis]", value) == MILLIS
    assert apply("[iso8601]", value) == "2024-05-01T12:00:00.250Z"
    assert apply("[{date_format: '%Y-%m-%d %H:%M'}]", value) == "2024-05-01 12:00"


def test_unix_seconds_floor_before_the_epoch() -> None:
    assert apply("[to_unix_seconds]", -1) == -1
    assert apply("[to_unix_seconds]", datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)) == -1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (datetime(2024, 5, 1), "naive datetime"),
        ("2024-05-01T12:00:00", "without a UTC offset"),
        ("yesterday", "not an ISO-8601 timestamp"),
        (1.5, "got float"),
        (True, "got bool"),
    ],
)
def test_time_transforms_refuse_ambiguous_times(value: Any, message: str) -> None:
    error = failure("[to_unix_seconds]", value)
    assert error.message.startswith("transform 'to_unix_seconds' failed on a value of type")
    assert message in error.message


def test_date_format_needs_a_directive() -> None:
    with pytest.raises(MappingError, match="format has no %-directives"):
        build("a: {path: x, transform: [{date_format: 'YYYY-MM-DD'}]}")


# -- lookup ------------------------------------------------------------------------------------

TABLES = "lookups:\n  methods: {card: CREDIT_CARD, paypal: PAYPAL, '7': SEVEN}\n"


def test_lookup_maps_through_a_table() -> None:
    assert apply("[{lookup: methods}]", "card", lookups=TABLES) == "CREDIT_CARD"
    assert apply("[{lookup: methods}]", 7, lookups=TABLES) == "SEVEN"


def test_lookup_miss_without_default_is_undefined() -> None:
    assert apply("[{lookup: methods}]", "cash", lookups=TABLES) == "absent"


def test_lookup_miss_with_default() -> None:
    pipeline = "[{lookup: {table: methods, default: OTHER}}]"
    assert apply(pipeline, "cash", lookups=TABLES) == "OTHER"


def test_lookup_refuses_unhashable_or_odd_keys() -> None:
    error = failure("[{lookup: methods}]", ["card"], lookups=TABLES)
    assert "expects a string or integer key" in error.message


# -- sha256 and PII normalisation (REFERENCE.md) ------------------------------------------------


def test_email_is_trimmed_lowercased_and_hashed() -> None:
    assert apply("[{sha256: email}]", "  Jane.Doe@Example.COM ") == sha("jane.doe@example.com")


def test_phone_keeps_digits_only_with_country_code() -> None:
    expected = sha("4930123456789")
    assert apply("[{sha256: phone}]", "+49 (30) 1234-56789") == expected
    assert apply("[{sha256: phone}]", "0049 30 123456789") == expected


def test_an_already_hashed_value_passes_through_lower_cased() -> None:
    hashed = sha("jane@example.com").upper()
    assert apply("[{sha256: email}]", hashed) == hashed.lower()
    assert apply("[{sha256: phone}]", f" {hashed} ") == hashed.lower()


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_an_empty_value_is_never_hashed(value: str) -> None:
    assert apply("[{sha256: email}]", value) == "absent"


def test_a_phone_without_digits_is_never_hashed() -> None:
    assert apply("[{sha256: phone}]", "n/a") == "absent"


def test_as_is_hashes_the_text_unchanged() -> None:
    assert apply("[{sha256: as_is}]", "Jane ") == sha("Jane ")


def test_sha256_refuses_non_text() -> None:
    assert "expects a string" in failure("[{sha256: phone}]", 4930123).message


def test_sha256_needs_a_normalisation() -> None:
    with pytest.raises(MappingError, match=r"sha256\(normalize\) needs argument"):
        build("a: {path: x, transform: [sha256]}")
    with pytest.raises(MappingError, match="normalize must be one of email, phone, as_is"):
        build("a: {path: x, transform: [{sha256: name}]}")


# -- json_encode -------------------------------------------------------------------------------


def test_json_encode_is_compact_and_exact() -> None:
    value = {"b": [1, Decimal("2.50")], "a": None, "t": WHEN, "ü": True}
    assert apply("[json_encode]", value) == (
        '{"b":[1,"2.50"],"a":null,"t":"2024-05-01T12:00:00.250Z","ü":true}'
    )


def test_json_encode_refuses_nan() -> None:
    assert "Out of range float values" in failure("[json_encode]", [float("nan")]).message
