"""Differential tests: every fast path gives what the generic path gives, for any input.

Each mapping is compiled twice from the same spec: with its fast paths (the default)
and with ``fast_paths=False``, where every value goes through the generic helpers and
the transforms themselves. For arbitrary input both give an equal payload (equal types
too: ``1``, ``1.0``, ``True`` and ``Decimal('1.0')`` are all told apart) or a
``MappingError`` with the same message, location and cause type.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from martech_bus.errors import MappingError
from martech_bus.mapping.compiler import CompiledMapping, compile_mapping
from martech_bus.mapping.parser import parse_mapping
from martech_bus.mapping.transforms import REGISTRY
from martech_bus.mapping.values import UNDEFINED
from tests.mapping.helpers import mapping_text

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Text(str):
    """A str subclass: never takes a fast path keyed on ``str``."""


class Number(Decimal):
    """A Decimal subclass: never takes a fast path keyed on ``Decimal``."""


class Zone(tzinfo):
    """A hand-made tzinfo; subclasses say what ``utcoffset`` does."""

    def tzname(self, dt: datetime | None) -> str:
        return type(self).__name__

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


class NoOffset(Zone):
    """A tzinfo without an offset: the datetime counts as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


class BadOffset(Zone):
    """A tzinfo whose offset cannot be read."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        raise RuntimeError("no offset today")


class OddOffset(Zone):
    """An offset no datetime accepts (more than a day)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return timedelta(hours=30)


texts = st.text(max_size=12) | st.sampled_from(
    ["", "  ", " a@B.c ", "+49 (30) 1234", "0049 30", "00", "EUR", "x", "İ", "a" * 64, "Ab" * 32]
)
hex64 = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)
decimals = st.decimals(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [Decimal("1E+30"), Decimal("1E+400"), Decimal("-1E+400"), Decimal("0.005"), Decimal("2.5")]
)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e300, 2.675, -0.0])
ints = st.integers() | st.integers(min_value=-(2**70), max_value=2**70) | st.just(10**400)
ZONES: list[tzinfo | None] = [
    None, UTC, timezone(timedelta(hours=-5)), NoOffset(), BadOffset(), OddOffset(),
]  # fmt: skip
datetimes = st.datetimes(timezones=st.sampled_from(ZONES))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    floats,
    decimals,
    texts,
    hex64,
    texts.map(Text),
    st.decimals(allow_nan=False, places=3).map(Number),
    datetimes,
    st.dates(),
    st.binary(max_size=4),
    st.just(UNDEFINED),
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.sampled_from(["x", "y", "id", "z"]) | st.text(max_size=3), inner)
    ),
    max_leaves=10,
)
values = scalars | anything  # ``anything`` alone is mostly containers


#: Values at every edge a fast path has: each is tried with every fast path, not only sampled.
TRICKY: tuple[Any, ...] = (
    None, UNDEFINED, True, False, 0, 1, -1, 1000, -1001, 2**70, 10**400,
    0.0, -0.0, 2.5, 2.675, -1.5, 1e300, 1e-300, float("inf"), float("-inf"), float("nan"),
    Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
    Decimal("1E+30"), Decimal("1E+400"), Decimal("-1E+400"), Decimal("0.005"), Decimal("2.5"),
    Decimal("-2.5"), Decimal("12.3450"), Decimal("-0"), Decimal("7"), Number("1.5"),
    "", "  ", "\u00a0", " web ", "web", "1", "ios", "flag", "EUR", "İ", "a@B.c ", "+49 (0)30 12",
    "00", "12.5", " 7 ", "nan", "inf", "true", "AB" * 32, " " + "ab" * 32 + " ", "g" * 64,
    Text("web"), Text("  "), Text("AB" * 32),
    datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    datetime(2024, 5, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2024, 5, 1), datetime(2024, 5, 1, tzinfo=NoOffset()),
    datetime(2024, 5, 1, tzinfo=BadOffset()), datetime(2024, 5, 1, tzinfo=OddOffset()),
    datetime(2024, 5, 1).date(), b"web", [], {}, [1], ("web",), {"x": 1},
)  # fmt: skip


def typed(value: Any) -> Any:
    """A value with its types spelled out, so equal-but-different values compare unequal."""
    if isinstance(value, dict):
        return ("dict", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def outcome(mapping: CompiledMapping, event: Any) -> tuple[Any, ...]:
    try:
        return ("payload", typed(mapping(event)))
    except MappingError as exc:
        cause = exc.__cause__
        return ("error", exc.message, exc.location, type(cause), str(cause))


def twins(output: str, *, lookups: str = "") -> tuple[CompiledMapping, CompiledMapping]:
    """The same mapping compiled with and without its fast paths."""
    spec = parse_mapping(mapping_text(output, lookups=lookups), file="m.yaml")
    fast, generic = compile_mapping(spec), compile_mapping(spec, fast_paths=False)
    assert fast.source != generic.source, "no fast path was compiled: the test would prove nothing"
    return fast, generic


def assert_same(pair: tuple[CompiledMapping, CompiledMapping], event: Any) -> None:
    fast, generic = pair
    assert outcome(fast, event) == outcome(generic, event)


# -- inline transforms ------------------------------------------------------------------

TRANSFORMS = {
    "round_0": "[{round: 0}]",
    "round_2": "[{round: 2}]",
    "round_minus_1": "[{round: -1}]",
    "round_then_float": "[{round: 2}, {cast: float}]",
    "cast_float": "[{cast: float}]",
    "cast_int": "[{cast: int}]",
    "cast_str": "[{cast: str}]",
    "cast_bool": "[{cast: bool}]",
    "lower": "[lower]",
    "upper": "[upper]",
    "trim": "[trim]",
    "trim_upper_lower": "[trim, upper, lower]",
    "unix_seconds": "[to_unix_seconds]",
    "unix_millis": "[to_unix_millis]",
    "lookup": "[{lookup: {table: t}}]",
    "lookup_default": "[{lookup: {table: t, default: other}}]",
    "lookup_then_upper": "[{lookup: {table: t}}, upper]",
    "sha256_email": "[{sha256: email}]",
    "sha256_phone": "[{sha256: phone}]",
    "sha256_as_is": "[{sha256: as_is}]",
}
LOOKUPS = "lookups:\n  t: {web: website, '1': one, ios: null, flag: true, EUR: eur}\n"
PAIRS = {
    name: twins(
        f"a: {{path: x, transform: {pipeline}}}\n"
        f"b: {{path: x, transform: {pipeline}, drop_null: true}}\n"
        f"c: {{path: x, transform: {pipeline}, default: d}}\n"
        f"l: [{{path: x, transform: {pipeline}}}, {{path: y, transform: {pipeline}}}]\n",
        lookups=LOOKUPS,
    )
    for name, pipeline in TRANSFORMS.items()
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@SETTINGS
@given(value=values, other=values)
@example(value=Decimal("1E+30"), other=None)  # quantize fails: round's own error is reported
@example(value=Decimal("1E+400"), other=Decimal("NaN"))  # beyond float: cast refuses inf
@example(value=Decimal("sNaN"), other=float("inf"))
@example(value=datetime(2024, 1, 1), other=datetime(2024, 1, 1, tzinfo=NoOffset()))  # naive
@example(value=datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), other=-1)  # floors
@example(value="  Jane.Doe@Example.COM ", other="+49 (30) 1234-5678")
@example(value="AB" * 32, other=" " + "ab" * 32 + " ")  # already hashed: passed through
@example(value=Text("web"), other="web")
def test_an_inline_transform_agrees_with_the_transform(name: str, value: Any, other: Any) -> None:
    assert_same(PAIRS[name], {"x": value, "y": other, "event_id": "e-1"})


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_an_inline_transform_agrees_on_every_edge_value(name: str) -> None:
    for value in TRICKY:
        assert_same(PAIRS[name], {"x": value, "y": value, "event_id": "e-1"})


def test_a_fast_path_failure_reports_the_transforms_own_error() -> None:
    fast, _ = PAIRS["round_2"]
    with pytest.raises(MappingError, match="cannot round Decimal") as caught:
        fast({"x": Decimal("1E+30")})
    assert isinstance(caught.value.__cause__, ValueError)  # not decimal.InvalidOperation
    fast, _ = PAIRS["unix_seconds"]
    with pytest.raises(MappingError, match="timezone-aware datetime, got a naive") as caught:
        fast({"x": datetime(2024, 1, 1)})
    assert caught.value.location.path == "a"


def test_only_the_fast_path_line_reports_the_transforms_error() -> None:
    # The second item cannot be read while the step counter still names the first item's
    # lookup, whose result (true) the lookup itself would refuse: the read error stays.
    pair = twins(
        "c: {each: items, as: {a: {path: k, transform: [{lookup: {table: t}}]}}}",
        lookups=LOOKUPS,
    )

    class Unreadable(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise RuntimeError("no reads today")

    event = {"items": [{"k": "flag"}, Unreadable()]}
    assert_same(pair, event)
    with pytest.raises(MappingError, match="RuntimeError: no reads today"):
        pair[0](event)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_the_inline_transforms_are_compiled_in(name: str) -> None:
    fast, generic = PAIRS[name]
    assert fast.source.count(".__class__ is") > generic.source.count(".__class__ is")


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("round_2", ".quantize("),
        ("lower", ".lower()"),
        ("trim", ".strip()"),
        ("unix_millis", " - "),
    ],
)
def test_an_inline_transform_is_code_not_a_call(name: str, code: str) -> None:
    fast, generic = PAIRS[name]
    assert code in fast.source and code not in generic.source


# -- the hasher's own fast path ---------------------------------------------------------


def reference_hash(text: str, kind: str) -> Any:
    """REFERENCE.md's PII rules, written plainly."""
    stripped = text.strip()
    if not stripped:
        return UNDEFINED
    if re.fullmatch(r"[0-9a-fA-F]{64}", stripped):
        return stripped.lower()
    if kind == "email":
        normalized = stripped.lower()
    elif kind == "phone":
        normalized = re.sub(r"[^0-9]", "", stripped).lstrip("0")
    else:
        normalized = text
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else UNDEFINED


def hasher(kind: str) -> Any:
    """The function ``{sha256: kind}`` prepares (what compiled code calls for a str)."""
    tdef = REGISTRY.get("sha256")
    assert tdef is not None and tdef.prepare is not None
    return tdef.prepare({"normalize": kind}, {})["normalize"]


HASHERS = {kind: hasher(kind) for kind in ("email", "phone", "as_is")}


@pytest.mark.parametrize("kind", sorted(HASHERS))
@SETTINGS
@given(
    text=texts
    | hex64
    | hex64.map(lambda h: f" {h}\n")
    | st.text(min_size=64, max_size=64)
    | st.text(max_size=70)
)
@example(text="g" * 64)
@example(text=" " + "F" * 64)
def test_the_hasher_agrees_on_str_and_str_subclasses(kind: str, text: str) -> None:
    hash_pii = HASHERS[kind]
    assert hash_pii(text) == hash_pii(Text(text)) == reference_hash(text, kind)


@pytest.mark.parametrize("kind", sorted(HASHERS))
@given(value=scalars.filter(lambda v: not isinstance(v, str)))
def test_the_hasher_refuses_non_text(kind: str, value: Any) -> None:
    with pytest.raises(TypeError, match="expects a string"):
        HASHERS[kind](value)


# -- paths and conditions ---------------------------------------------------------------

WILDCARDS = {
    "key": twins("a: {path: 'x[*].id'}"),
    "keys": twins("a: {path: 'x[*].y.id'}"),
    "index": twins("a: {path: 'x[*][0]'}"),
    "index_key": twins("a: {path: 'x[*][-1].id'}"),
    "bare": twins("a: {path: 'x[*]'}"),
    "deep_head": twins("a: {path: 'x.y[*].id', transform: [{join: ','}]}"),
    "in_each": twins("a: {each: x, as: {path: 'y[*].id'}}"),
    "from_root": twins("a: {each: x, as: {path: '$.z[*].id'}}"),
}


@pytest.mark.parametrize("name", sorted(WILDCARDS))
@SETTINGS
@given(x=anything, z=anything)
@example(x=[{"id": 1}, {"y": 2}, {"id": None}, "text", [{"id": 3}]], z=({"id": UNDEFINED},))
@example(x={"y": [{"id": "a"}, {"id": "b"}]}, z=[[1, 2], [], ({"id": 4},)])
@example(x=[{"y": [{"id": 1}]}, {"y": {"id": 2}}], z=None)
def test_a_wildcard_loop_agrees_with_walk(name: str, x: Any, z: Any) -> None:
    assert_same(WILDCARDS[name], {"x": x, "z": z})


class Items(list[Any]):
    """A list subclass: walked by the generic path."""


def test_a_wildcard_over_a_list_subclass_or_a_non_list_is_walked() -> None:
    fast, generic = WILDCARDS["key"]
    for x in (Items([{"id": 1}, {}]), "text", None, {"id": 1}, ({"id": 2},)):
        assert outcome(fast, {"x": x}) == outcome(generic, {"x": x})
    assert fast({"x": Items([{"id": 1}, {}])}) == {"a": [1]}
    assert fast({"x": "text"}) == {}


BLANKS = {
    "blank": twins("a: {if: {path: x, blank: true}, then: 1, else: 0}"),
    "not_blank": twins("a: {if: {path: x, blank: false}, then: {path: x}, else: none}"),
}


@pytest.mark.parametrize("name", sorted(BLANKS))
def test_an_inline_blank_test_agrees_on_every_edge_value(name: str) -> None:
    for value in TRICKY:
        assert_same(BLANKS[name], {"x": value})


@pytest.mark.parametrize("name", sorted(BLANKS))
@SETTINGS
@given(x=values)
@example(x=" \t\n")
@example(x=Text("  "))
@example(x="\u00a0")
@example(x=[])
@example(x={})
def test_an_inline_blank_test_agrees_with_is_blank(name: str, x: Any) -> None:
    assert_same(BLANKS[name], {"x": x})


# -- code shape that is not type-specialised ----------------------------------------------


@SETTINGS
@given(x=values, y=values, z=values)
def test_lists_with_undefined_items_keep_order_and_drop_them(x: Any, y: Any, z: Any) -> None:
    fast, generic = twins(
        "a: [{path: x, transform: [trim]}, {path: y}, 1, {path: z}]\n"
        "b: [{path: x, drop_null: true}]\n"
        "c: [1, {path: y}]"
    )
    event = {"x": x, "y": y, "z": z}
    assert outcome(fast, event) == outcome(generic, event)
    try:
        payload = fast(event)
    except MappingError:
        return
    expected_b = [] if x is UNDEFINED or x is None else [x]
    assert typed(payload["b"]) == typed(expected_b)
    assert typed(payload["c"]) == typed([1] if y is UNDEFINED else [1, y])
