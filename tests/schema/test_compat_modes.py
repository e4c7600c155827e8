"""``CompatibilityMode`` and ``check_mode``: registry modes over a version history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from martech_bus.errors import SchemaError
from martech_bus.schema.compat import (
    CompatibilityMode,
    check_compatibility,
    check_mode,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
ORDER_COMPLETED = REPO_ROOT / "schemas" / "order_completed"
Mode = CompatibilityMode


def event(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Event", "fields": list(fields)}


def field(name: str, type_: Any, **attrs: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **attrs}


BASE = event(field("id", "string"))
WITH_OPTIONAL = event(field("id", "string"), field("x", "int", default=0))
WITH_REQUIRED = event(field("id", "string"), field("x", "int"))

# --- CompatibilityMode -----------------------------------------------------------------------


def test_mode_values_are_their_names() -> None:
    assert [mode.value for mode in Mode] == [mode.name for mode in Mode]
    assert Mode("BACKWARD") is Mode.BACKWARD


@pytest.mark.parametrize("text", ["FULL_TRANSITIVE", "full_transitive", " Full_Transitive "])
def test_parse_is_case_insensitive(text: str) -> None:
    assert Mode.parse(text) is Mode.FULL_TRANSITIVE


def test_parse_accepts_a_mode() -> None:
    assert Mode.parse(Mode.FORWARD) is Mode.FORWARD


def test_parse_of_an_unknown_mode_names_the_valid_ones() -> None:
    with pytest.raises(SchemaError, match="unknown compatibility mode 'SIDEWAYS'") as info:
        Mode.parse("SIDEWAYS")
    assert all(mode.value in str(info.value) for mode in Mode)


# --- check_mode: directions ------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_first_version_is_always_acceptable(mode: Mode) -> None:
    assert check_mode(WITH_REQUIRED, [], mode)


def test_none_accepts_any_change() -> None:
    assert check_mode("int", [BASE, WITH_REQUIRED], Mode.NONE)


@pytest.mark.parametrize(
    ("mode", "ok"),
    [
        (Mode.BACKWARD, False),
        (Mode.FORWARD, True),
        (Mode.FULL, False),
    ],
)
def test_adding_a_required_field_breaks_backward(mode: Mode, ok: bool) -> None:
    assert check_mode(WITH_REQUIRED, [BASE], mode).compatible is ok


@pytest.mark.parametrize(
    ("mode", "ok"),
    [
        (Mode.BACKWARD, True),
        (Mode.FORWARD, False),
        (Mode.FULL, False),
    ],
)
def test_removing_a_required_field_breaks_forward(mode: Mode, ok: bool) -> None:
    assert check_mode(BASE, [WITH_REQUIRED], mode).compatible is ok


@pytest.mark.parametrize("mode", [Mode.BACKWARD, Mode.FORWARD, Mode.FULL])
def test_adding_an_optional_field_is_fully_compatible(mode: Mode) -> None:
    assert check_mode(WITH_OPTIONAL, [BASE], mode)
    assert check_mode(BASE, [WITH_OPTIONAL], mode)


def test_backward_message_names_new_as_reader() -> None:
    result = check_mode(WITH_REQUIRED, [BASE], "BACKWARD")
    assert result.messages == [
        "v2 cannot read data written with v1 (BACKWARD): at Event.x: "
        "reader field 'x' has no default and is missing from the writer"
    ]


def test_forward_message_names_latest_as_reader() -> None:
    result = check_mode(BASE, [WITH_REQUIRED], "FORWARD")
    assert result.messages == [
        "v1 cannot read data written with v2 (FORWARD): at Event.x: "
        "reader field 'x' has no default and is missing from the writer"
    ]


def test_full_reports_both_directions() -> None:
    result = check_mode(event(field("id", "long")), [event(field("id", "int"))], "full")
    assert result.messages == [
        "v1 cannot read data written with v2 (FULL): at Event.id: long cannot be promoted to int"
    ]
    result = check_mode(event(field("id", "string")), [event(field("id", "int"))], "full")
    assert result.messages == [
        "v2 cannot read data written with v1 (FULL): at Event.id: int cannot be promoted to string",
        "v1 cannot read data written with v2 (FULL): at Event.id: string cannot be promoted to int",
    ]


# --- check_mode: transitive ------------------------------------------------------------------
# Each history is acceptable step by step; only v3 against v1 breaks.

BACKWARD_HISTORY = [
    event(field("id", "string"), field("x", "int")),
    event(field("id", "string")),
    event(field("id", "string"), field("x", "string", default="")),
]
FORWARD_HISTORY = [
    event(field("id", "string"), field("x", "int")),
    event(field("id", "string"), field("x", "int", default=0)),
    event(field("id", "string")),
]


@pytest.mark.parametrize(
    ("history", "latest_mode", "transitive_mode", "failure"),
    [
        (
            BACKWARD_HISTORY,
            Mode.BACKWARD,
            Mode.BACKWARD_TRANSITIVE,
            "v3 cannot read data written with v1 (BACKWARD_TRANSITIVE): at Event.x: "
            "int cannot be promoted to string",
        ),
        (
            FORWARD_HISTORY,
            Mode.FORWARD,
            Mode.FORWARD_TRANSITIVE,
            "v1 cannot read data written with v3 (FORWARD_TRANSITIVE): at Event.x: "
            "reader field 'x' has no default and is missing from the writer",
        ),
        (
            FORWARD_HISTORY,
            Mode.FULL,
            Mode.FULL_TRANSITIVE,
            "v1 cannot read data written with v3 (FULL_TRANSITIVE): at Event.x: "
            "reader field 'x' has no default and is missing from the writer",
        ),
    ],
    ids=["backward", "forward", "full"],
)
def test_transitive_mode_checks_every_earlier_version(
    history: list[dict[str, Any]], latest_mode: Mode, transitive_mode: Mode, failure: str
) -> None:
    *previous, new = history
    assert check_mode(previous[1], previous[:1], latest_mode), "the history itself is valid"
    assert check_mode(new, previous, latest_mode)
    assert check_mode(new, previous, transitive_mode).messages == [failure]


def test_full_transitive_reports_every_broken_pair() -> None:
    *previous, new = BACKWARD_HISTORY
    assert check_mode(new, previous, Mode.FULL)
    assert check_mode(new, previous, Mode.FULL_TRANSITIVE).messages == [
        "v3 cannot read data written with v1 (FULL_TRANSITIVE): at Event.x: "
        "int cannot be promoted to string",
        "v1 cannot read data written with v3 (FULL_TRANSITIVE): at Event.x: "
        "string cannot be promoted to int",
    ]


# --- check_mode: input -----------------------------------------------------------------------


def test_unknown_mode_raises_schema_error() -> None:
    with pytest.raises(SchemaError, match="valid modes: BACKWARD"):
        check_mode(BASE, [BASE], "LATEST")


def test_previous_must_be_a_sequence_of_schemas() -> None:
    with pytest.raises(TypeError, match="sequence of schemas"):
        check_mode("int", "int", Mode.BACKWARD)


def test_invalid_new_schema_raises_even_under_none() -> None:
    with pytest.raises(SchemaError, match=r"version 2: invalid schema: unknown type 'strin'"):
        check_mode(event(field("id", "strin")), [BASE], Mode.NONE)


def test_invalid_previous_schema_names_its_version() -> None:
    with pytest.raises(SchemaError, match=r"version 2: invalid schema: not valid JSON"):
        check_mode(BASE, [BASE, "{"], Mode.BACKWARD_TRANSITIVE)


# --- the real catalogue ----------------------------------------------------------------------


def order_completed(version: int) -> str:
    return (ORDER_COMPLETED / f"v{version}.avsc").read_text()


def test_order_completed_v2_reads_v1_data() -> None:
    assert check_compatibility(order_completed(2), order_completed(1)).compatible
    assert check_mode(order_completed(2), [order_completed(1)], Mode.BACKWARD).compatible


def test_order_completed_v1_reads_v2_data() -> None:
    assert check_compatibility(order_completed(1), order_completed(2)).compatible
    assert check_mode(order_completed(2), [order_completed(1)], Mode.FORWARD).compatible
