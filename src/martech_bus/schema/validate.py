"""Event validation: coerce JSON-ish input into datum form, reporting every problem at once.

An ``EventValidator`` compiles its schema once. Each schema node becomes a
converter closure (coerce or record a problem) plus, where possible, a
call-free test for "this value is already datum form". Records are generated as
straight-line Python: per field one ``dict.get``, the inline test, and only
otherwise a call to the field's converter. An event already in datum form thus
costs about one dict copy per record. Paths are linked tuples, rendered only
when something is wrong.

That thorough validator is the reference and writes the error messages. Events
that are fine take a faster route: per schema, ``martech_bus.schema.fastpath``
generates code that converts JSON-form values (decimal strings, RFC 3339 text)
inline, without a problem list, and gives up on anything it is not sure of; the
thorough validator then runs on that event. Both give the same result.

Datum form (what fastavro writes and what decoding returns): timestamp-millis /
-micros as aware UTC ``datetime`` (truncated to the type's precision, as the
writer would), decimals as ``Decimal`` with exactly the schema's scale, uuid as
a lower-case hyphenated ``str``, enums as ``str``, records as dicts with every
field present (defaults filled).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import reprlib
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from martech_bus.errors import Location, Problem, SchemaError, UnknownSchemaError, ValidationError
from martech_bus.schema.avro import (
    FLOAT32_MAX,
    INT_RANGES,
    PRIMITIVES,
    as_schema_json,
    check_schema,
    full_name,
)
from martech_bus.schema.envelope import IDENTITY_FIELDS
from martech_bus.schema.iso4217 import is_currency

if TYPE_CHECKING:
    from martech_bus.schema.fastpath import Compiled, Envelope
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

# A path is a linked list (parent, key) built without string work; rendered on failure.
Path: TypeAlias = "tuple[Path, str | int | None] | None"
Problems: TypeAlias = "list[tuple[Path, str]]"
Convert: TypeAlias = Callable[[Any, Path, "str | int | None", Problems], Any]
#: (variable name, generated code's namespace) -> a Python expression without calls.
Inline: TypeAlias = Callable[[str, dict[str, Any]], str]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING: Final = object()
#: What a generated fast path returns when it is not sure (``schema.fastpath.MISS``).
NOT_SURE: Final = object()
#: Validations per validator before its fast path is compiled (see ``EventValidator``).
WARM_UP: Final = 64
_NONE_TYPE: Final = type(None)
_LONG_MIN, _LONG_MAX = INT_RANGES["long"]
_USER_ID, _ANONYMOUS_ID = IDENTITY_FIELDS
# Patterns are compiled when a validator is built (re caches them), not at import.
_NUMERIC: Final = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z"
_NOT_FINITE: Final = frozenset({"nan", "snan", "inf", "infinity"})
_CANONICAL_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"
#: Custom ``"format"`` attributes on string fields: check and what to call a valid value.
FORMATS: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "iso4217": (is_currency, "an active ISO 4217 currency code (e.g. 'EUR')"),
}

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 4
_repr.maxlevel = 2


def _show(value: Any) -> str:
    """The offending value for a message: its type and a truncated repr."""
    if value is None:
        return "None"
    text = _repr.repr(value)  # bounded per element, then overall
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def render_path(path: Path) -> str:
    """``((((None, None), 'properties'), 'products'), 2)`` -> ``properties.products[2]``."""
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        if key is not None:
            keys.append(key)
    out = ""
    for key in reversed(keys):
        if isinstance(key, int):
            out += f"[{key}]"
        elif not key.isidentifier():
            out += f"[{key!r}]"
        else:
            out += f".{key}" if out else key
    return out


def _fail(problems: Problems, parent: Path, key: str | int | None, message: str) -> None:
    problems.append(((parent, key), message))


def _did_you_mean(word: str, choices: list[str]) -> str:
    by_case = {choice.lower(): choice for choice in choices}
    close = [by_case[word.lower()]] if word.lower() in by_case else []
    close = close or difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _bind(scope: dict[str, Any], value: Any) -> str:
    """Put ``value`` in the generated code's namespace; return the name to use."""
    name = f"_c{len(scope)}"
    scope[name] = value
    return name


def _type_test(types: frozenset[type]) -> Inline | None:
    if not types:
        return None

    def inline(var: str, scope: dict[str, Any]) -> str:
        ordered = sorted(types, key=lambda t: (t is not _NONE_TYPE, t.__name__))
        return " or ".join(
            f"{var} is None" if t is _NONE_TYPE else f"type({var}) is {_bind(scope, t)}"
            for t in ordered
        )

    return inline


#: A record field without a default (``Shape.fields``).
NO_DEFAULT: Final = _MISSING


@dataclass(eq=False)
class Shape:
    """What one compiled node accepts, for the code generator of ``schema.fastpath``.

    ``kind`` is one of null, boolean, int, long, float, double, bytes, string, uuid,
    timestamp, date, decimal, enum, fixed, array, map, union, record. ``convert`` is
    the thorough converter of the node (the generated code's fallback for one value).
    Named types are one shared object, so a recursive record contains itself.
    """

    kind: str
    convert: Convert | None = None
    check: Callable[[object], bool] | None = None  # string: the format's test
    tick: int = 0  # timestamp: microseconds per unit
    precision: int = 0  # decimal
    scale: int = 0  # decimal
    size: int = 0  # fixed
    symbols: tuple[str, ...] = ()  # enum
    items: Shape | None = None  # array items, map values
    branches: tuple[Shape, ...] = ()  # union
    #: record: (name, shape, datum-form default or ``NO_DEFAULT``) in schema order.
    fields: tuple[tuple[str, Shape, Any], ...] = ()
    name: str = ""  # record: full name


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled schema node."""

    convert: Convert
    label: str
    #: Exact input types that are already datum form (arrays, maps and unions copy them).
    fast: frozenset[type] = frozenset()
    #: Input types the converter may accept (a union's fast path must not skip a branch).
    accepts: frozenset[type] = frozenset()
    #: A call-free "already datum form" test for generated record code (default: ``fast``).
    inline: Inline | None = None
    shape: Shape | None = None

    def test(self, var: str, scope: dict[str, Any]) -> str | None:
        make = self.inline or _type_test(self.fast)
        return f"({make(var, scope)})" if make else None


def _shape_of(node: _Node) -> Shape:
    if node.shape is None:  # every constructor sets one
        raise AssertionError(f"{node.label}: compiled without a shape")
    return node.shape


def _passthrough(label: str, exact: type, *others: type) -> _Node:
    """A type whose values are already datum form (null, boolean, bytes, string).

    Subclasses are normalized (a ``StrEnum`` member becomes a plain ``str``), as are
    the ``others`` (bytearray -> bytes).
    """
    accepted = (exact, *others)

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, accepted):
            return None if value is None else exact(value)
        _fail(problems, parent, key, f"expected {label}, got {_show(value)}")
        return value

    shape = Shape(label, convert)
    return _Node(convert, label, frozenset({exact}), frozenset(accepted), shape=shape)


def _integer(kind: str) -> _Node:
    low, high = INT_RANGES[kind]

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(problems, parent, key, f"expected {kind}, got {_show(value)}")
        elif not low <= value <= high:
            _fail(problems, parent, key, f"{value} is out of range for {kind} ({low}..{high})")
        else:
            return int(value)
        return value

    def inline(var: str, scope: dict[str, Any]) -> str:
        return f"type({var}) is int and {low} <= {var} <= {high}"

    return _Node(convert, kind, accepts=frozenset({int}), inline=inline, shape=Shape(kind, convert))


def _floating(kind: str) -> _Node:
    limit = FLOAT32_MAX if kind == "float" else math.inf

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(problems, parent, key, f"expected {kind}, got {_show(value)}")
            return value
        if isinstance(value, float) and not math.isfinite(value):
            _fail(problems, parent, key, f"{kind} must be a finite number, got {_show(value)}")
            return value
        try:
            result = float(value)
        except OverflowError:
            result = math.inf
        # An int beyond a double's range overflows to inf: out of range too (``inf > inf`` is False).
        if abs(result) > limit or math.isinf(result):
            _fail(problems, parent, key, f"{_repr.repr(value)} is out of range for {kind}")
        return result

    return _Node(convert, kind, accepts=frozenset({int, float}), shape=Shape(kind, convert))


def _string(fmt: str | None) -> _Node:
    check = FORMATS.get(fmt) if fmt else None
    if check is None:
        return _passthrough("string", str)
    is_valid, description = check

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if not isinstance(value, str):
            _fail(problems, parent, key, f"expected string ({description}), got {_show(value)}")
        elif not is_valid(value):
            hint = " (codes are upper case)" if is_valid(value.upper()) else ""
            _fail(problems, parent, key, f"expected {description}, got {value!r}{hint}")
        else:
            return str(value)
        return value

    def inline(var: str, scope: dict[str, Any]) -> str:
        return f"type({var}) is str and {_bind(scope, is_valid)}({var})"

    shape = Shape("string", convert, check=is_valid)
    return _Node(convert, f"string ({fmt})", accepts=frozenset({str}), inline=inline, shape=shape)


def canonical_uuid(value: object) -> str | None:
    """A ``UUID``, or a string ``uuid.UUID`` reads, as a lower-case hyphenated string; else None."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    return None


def _uuid_node() -> _Node:
    canonical = re.compile(_CANONICAL_UUID).match

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if type(value) is str and canonical(value):
            return value
        text = canonical_uuid(value)
        if text is not None:
            return text
        _fail(problems, parent, key, f"expected a UUID string, got {_show(value)}")
        return value

    def inline(var: str, scope: dict[str, Any]) -> str:
        return f"type({var}) is str and {_bind(scope, canonical)}({var}) is not None"

    accepts = frozenset({str, uuid.UUID})
    shape = Shape("uuid", convert)
    return _Node(convert, "string (uuid)", accepts=accepts, inline=inline, shape=shape)


def from_epoch(value: int, tick: int) -> datetime | None:
    """The aware UTC datetime ``value`` units of ``tick`` microseconds after the epoch.

    None when ``value`` is outside Avro's long or the moment outside ``datetime``'s range.
    """
    try:
        if _LONG_MIN <= value <= _LONG_MAX:
            return _EPOCH + timedelta(microseconds=value * tick)
    except OverflowError:
        pass
    return None


def to_utc(moment: datetime, tick: int) -> datetime | None:
    """An aware ``moment`` in UTC, truncated to whole units of ``tick`` microseconds.

    Truncates exactly as fastavro's writer does; None when UTC is out of ``datetime``'s range.
    """
    try:
        utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    except OverflowError:
        return None
    extra = utc.microsecond % tick
    return utc.replace(microsecond=utc.microsecond - extra) if extra else utc


def _timestamp(unit: str) -> _Node:
    """timestamp-millis / -micros: aware datetime, ISO-8601 with offset, or epoch int."""
    tick = 1000 if unit == "millis" else 1  # microseconds per unit
    label = f"timestamp-{unit}"

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, datetime):
            moment = value
            if moment.utcoffset() is None:
                text = moment.isoformat()
                _fail(problems, parent, key, f"naive datetime {text!r} has no timezone ({label})")
                return value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                _fail(problems, parent, key, f"expected an ISO-8601 {label}, got {value!r}")
                return value
            if moment.utcoffset() is None:
                _fail(problems, parent, key, f"{value!r} has no UTC offset (add 'Z' or '+00:00')")
                return value
        elif isinstance(value, int) and not isinstance(value, bool):
            result = from_epoch(value, tick)
            if result is None:
                _fail(problems, parent, key, f"epoch {unit} {value} is out of range for {label}")
                return value
            return result
        else:
            _fail(
                problems,
                parent,
                key,
                f"expected {label} (an aware datetime, an ISO-8601 string with an offset "
                f"or epoch {unit}), got {_show(value)}",
            )
            return value
        result = to_utc(moment, tick)
        if result is None:
            _fail(problems, parent, key, f"{moment.isoformat()!r} is out of range for {label}")
            return value
        return result

    def inline(var: str, scope: dict[str, Any]) -> str:
        is_datetime, utc = _bind(scope, datetime), _bind(scope, UTC)
        exact = f"type({var}) is {is_datetime} and {var}.tzinfo is {utc}"
        return exact if tick == 1 else f"{exact} and not {var}.microsecond % {tick}"

    shape = Shape("timestamp", convert, tick=tick)
    return _Node(
        convert, label, accepts=frozenset({datetime, str, int}), inline=inline, shape=shape
    )


def _date_node() -> _Node:
    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            if isinstance(value, str):
                return date.fromisoformat(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return date(1970, 1, 1) + timedelta(days=value)
        except (ValueError, OverflowError):
            pass
        _fail(problems, parent, key, f"expected a date ('YYYY-MM-DD'), got {_show(value)}")
        return value

    shape = Shape("date", convert)
    return _Node(convert, "date", frozenset({date}), frozenset({date, str, int}), shape=shape)


def _to_decimal(value: Any, numeric: Callable[[str], object]) -> Decimal | None:
    """Decimal, int, numeric string or float (via its repr) as a Decimal; None otherwise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        # Decimal() also takes "1_000" and " NaN "; only plain numbers (and the named
        # non-finite values, to reject them with a precise message) get through.
        if numeric(text) or text.lower().lstrip("+-") in _NOT_FINITE:
            return Decimal(text)
    return None


def decimal_quantum(precision: int, scale: int) -> tuple[Decimal, Context]:
    """The quantum ``10**-scale`` and a context quantizing to it that never rounds.

    ``number.quantize(quantum, None, context)`` holds ``number`` at exactly ``scale``
    fractional digits; it raises Inexact when digits would be dropped and
    InvalidOperation when more than ``precision`` digits are needed.
    """
    return Decimal(1).scaleb(-scale), Context(prec=precision, traps=[Inexact, InvalidOperation])


def _decimal(precision: int, scale: int) -> _Node:
    """A decimal of the schema's precision and scale; never rounds silently."""
    quantum, context = decimal_quantum(precision, scale)
    integer_digits = precision - scale
    label = f"decimal({precision},{scale})"
    numeric = re.compile(_NUMERIC).match

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        number = _to_decimal(value, numeric)
        if number is None:
            _fail(
                problems,
                parent,
                key,
                f"expected {label} (a Decimal, int, numeric string or float), got {_show(value)}",
            )
        elif not number.is_finite():
            _fail(problems, parent, key, f"{label} must be a finite number, got {_show(value)}")
        else:
            try:
                return number.quantize(quantum, None, context)
            except Inexact:
                message = (
                    f"{number} has more than {scale} fractional digits ({label}); not rounding"
                )
            except InvalidOperation:
                message = f"{number} exceeds {label}: at most {integer_digits} integer digits"
            _fail(problems, parent, key, message)
        return value

    def inline(var: str, scope: dict[str, Any]) -> str:
        is_decimal, q = _bind(scope, Decimal), _bind(scope, quantum)
        return (
            f"type({var}) is {is_decimal} and {var}.same_quantum({q})"
            f" and {var}.adjusted() < {integer_digits}"
        )

    shape = Shape("decimal", convert, precision=precision, scale=scale)
    accepts = frozenset({Decimal, int, float, str})
    return _Node(convert, label, accepts=accepts, inline=inline, shape=shape)


def _enum(name: str, symbols: list[str]) -> _Node:
    allowed = frozenset(symbols)
    label = f"enum {name}"

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, str) and value in allowed:
            return str(value)
        hint = _did_you_mean(value, symbols) if isinstance(value, str) else ""
        listed = ", ".join(symbols)
        _fail(
            problems, parent, key, f"expected one of {listed} ({label}), got {_show(value)}{hint}"
        )
        return value

    def inline(var: str, scope: dict[str, Any]) -> str:
        return f"type({var}) is str and {var} in {_bind(scope, allowed)}"

    shape = Shape("enum", convert, symbols=tuple(symbols))
    return _Node(convert, label, accepts=frozenset({str}), inline=inline, shape=shape)


def _fixed(name: str, size: int) -> _Node:
    label = f"fixed {name} ({size} bytes)"

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if isinstance(value, bytes | bytearray | memoryview) and len(value) == size:
            return bytes(value)
        _fail(problems, parent, key, f"expected {label}, got {_show(value)}")
        return value

    shape = Shape("fixed", convert, size=size)
    return _Node(convert, label, accepts=frozenset({bytes, bytearray, memoryview}), shape=shape)


def _array(items: _Node) -> _Node:
    item_fast, item_convert = items.fast, items.convert
    label = f"array of {items.label}"

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if not isinstance(value, list | tuple):
            _fail(problems, parent, key, f"expected {label}, got {_show(value)}")
            return value
        here = (parent, key)
        return [
            item if type(item) in item_fast else item_convert(item, here, i, problems)
            for i, item in enumerate(value)
        ]

    shape = Shape("array", convert, items=_shape_of(items))
    return _Node(convert, label, accepts=frozenset({list, tuple}), shape=shape)


def _map(values: _Node) -> _Node:
    value_fast, value_convert = values.fast, values.convert
    label = f"map of {values.label}"

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if not isinstance(value, Mapping):
            _fail(problems, parent, key, f"expected {label} (an object), got {_show(value)}")
            return value
        here = (parent, key)
        out: dict[str, Any] = {}
        for name, item in value.items():
            if type(name) is not str:
                _fail(problems, here, None, f"map keys must be strings, got {_show(name)}")
            elif type(item) in value_fast:
                out[name] = item
            else:
                out[name] = value_convert(item, here, name, problems)
        return out

    return _Node(
        convert,
        label,
        accepts=frozenset({dict}),
        shape=Shape("map", convert, items=_shape_of(values)),
    )


def _union(branches: list[_Node]) -> _Node:
    """The first branch that accepts the value wins (None goes to the null branch)."""
    null = next((b for b in branches if b.fast == {_NONE_TYPE}), None)
    others = [b for b in branches if b is not null]
    label = " | ".join(b.label for b in branches)
    # A branch may only be fast for a type no earlier branch could claim.
    fast: set[type] = set()
    claimed: set[type] = set()
    for branch in branches:
        fast |= branch.fast - claimed
        claimed |= branch.accepts | branch.fast

    def convert(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        if value is None:
            if null is None:
                _fail(problems, parent, key, f"expected {label}, got None")
            return None
        if len(others) == 1:
            return others[0].convert(value, parent, key, problems)
        candidates: list[Problems] = []
        for branch in others:
            scratch: Problems = []
            result = branch.convert(value, parent, key, scratch)
            if not scratch:
                return result
            if type(value) in branch.accepts:
                candidates.append(scratch)
        if len(candidates) == 1:  # only one branch takes this type: its reason is the best
            problems.extend(candidates[0])
        else:
            _fail(problems, parent, key, f"expected {label}, got {_show(value)}")
        return value

    inline: Inline | None = None
    if null is not None and len(others) == 1:
        other = others[0]

        def inline(var: str, scope: dict[str, Any]) -> str:
            test = other.test(var, scope)
            return f"{var} is None or {test}" if test else f"{var} is None"

    shape = Shape("union", convert, branches=tuple(_shape_of(b) for b in branches))
    return _Node(convert, label, frozenset(fast), frozenset(claimed), inline, shape)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    node: _Node
    default: Any  # datum form, or _MISSING when the field is required

    def absent(self) -> Callable[[Path, Problems], Any]:
        """What a record puts in place of this field when the input lacks it."""
        name, default = self.name, self.default
        mutable = isinstance(default, dict | list)

        def absent(here: Path, problems: Problems) -> Any:
            if default is _MISSING:
                _fail(problems, here, name, f"missing required field {name!r}")
                return None
            return copy.deepcopy(default) if mutable else default

        return absent


def _record(name: str, fields: list[_Field]) -> _Node:
    """A record converter generated as straight-line code: the validator's hot loop.

    Per field: one ``get``, the node's inline test when it has one, else a call to
    its converter (or to ``absent`` for a missing field). Only schema-derived
    constants reach the source (names through ``repr``); objects go through the
    namespace.
    """
    label = f"record {name}"
    names = [f.name for f in fields]
    known = frozenset(names)

    def reject(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
        _fail(problems, parent, key, f"expected {label} (an object), got {_show(value)}")
        return value

    def unknown(value: Mapping[Any, Any], here: Path, problems: Problems) -> None:
        missing = [n for n in names if n not in value]
        for extra in value:
            if extra not in known:
                hint = _did_you_mean(extra, missing or names) if isinstance(extra, str) else ""
                where = extra if isinstance(extra, str) else None
                _fail(problems, here, where, f"unknown field {extra!r}{hint}")

    scope: dict[str, Any] = {"Mapping": Mapping, "_MISSING": _MISSING}
    entries = []
    for i, field in enumerate(fields):
        convert, absent = _bind(scope, field.node.convert), _bind(scope, field.absent())
        slow = (
            f"{convert}(v{i}, here, {field.name!r}, problems)"
            f" if v{i} is not _MISSING else {absent}(here, problems)"
        )
        test = field.node.test(f"v{i}", scope)
        entries.append(
            f"{field.name!r}: v{i} if {test} else ({slow})" if test else f"{field.name!r}: {slow}"
        )
    source = "\n".join(
        [
            "def convert(value, parent, key, problems):",
            "    if type(value) is not dict and not isinstance(value, Mapping):",
            f"        return {_bind(scope, reject)}(value, parent, key, problems)",
            "    here = (parent, key)",
            "    get = value.get",
            *(f"    v{i} = get({f.name!r}, _MISSING)" for i, f in enumerate(fields)),
            "    out = {",
            *(f"        {entry}," for entry in entries),
            "    }",
            f"    if not {_bind(scope, known)}.issuperset(value):",
            f"        {_bind(scope, unknown)}(value, here, problems)",
            "    return out",
        ]
    )
    exec(compile(source, f"<record {name} validator>", "exec"), scope)
    return _Node(scope["convert"], label, accepts=frozenset({dict}))


class _Compiler:
    """Turns a decoded Avro schema into a tree of ``_Node`` converters."""

    def __init__(self) -> None:
        self.named: dict[str, _Node] = {}

    def compile(self, schema: Any, namespace: str | None, fmt: str | None = None) -> _Node:
        if isinstance(schema, str):
            return self.reference(schema, namespace, fmt)
        if isinstance(schema, list):
            return _union([self.compile(branch, namespace, fmt) for branch in schema])
        kind = schema["type"]
        if kind in ("record", "error"):
            return self.record(schema, namespace)
        if kind == "enum":
            return self.define(schema, namespace, lambda name: _enum(name, list(schema["symbols"])))
        if kind == "fixed":
            if schema.get("logicalType") == "decimal":
                node = _decimal(schema["precision"], schema.get("scale", 0))
                return self.define(schema, namespace, lambda _: node)
            return self.define(schema, namespace, lambda name: _fixed(name, schema["size"]))
        if kind == "array":
            return _array(self.compile(schema["items"], namespace))
        if kind == "map":
            return _map(self.compile(schema["values"], namespace))
        return self.logical(schema, kind, namespace, schema.get("format", fmt))

    def logical(
        self, schema: Mapping[str, Any], kind: Any, namespace: str | None, fmt: str | None
    ) -> _Node:
        logical = schema.get("logicalType")
        if logical == "decimal" and kind == "bytes":
            return _decimal(schema["precision"], schema.get("scale", 0))
        if logical == "uuid" and kind == "string":
            return _uuid_node()
        if logical in ("timestamp-millis", "timestamp-micros") and kind == "long":
            return _timestamp(logical.rsplit("-", 1)[1])
        if logical == "date" and kind == "int":
            return _date_node()
        # Other logical types validate as their physical type (the Avro spec ignores unknown ones).
        return self.compile(kind, namespace, fmt)

    def reference(self, name: str, namespace: str | None, fmt: str | None) -> _Node:
        if name in PRIMITIVES:
            return self.primitive(name, fmt)
        node = self.named.get(full_name(name, namespace)) or self.named.get(name)
        if node is None:
            raise SchemaError(f"unknown type {name!r}")
        return node

    @staticmethod
    def primitive(name: str, fmt: str | None) -> _Node:
        if name == "null":
            return _passthrough("null", _NONE_TYPE)
        if name == "boolean":
            return _passthrough("boolean", bool)
        if name in ("int", "long"):
            return _integer(name)
        if name in ("float", "double"):
            return _floating(name)
        if name == "bytes":
            return _passthrough("bytes", bytes, bytearray, memoryview)
        return _string(fmt)

    def define(
        self, schema: Mapping[str, Any], namespace: str | None, build: Callable[[str], _Node]
    ) -> _Node:
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        self.named[qualified] = node = build(qualified.rsplit(".", 1)[-1])
        return node

    def record(self, schema: Mapping[str, Any], namespace: str | None) -> _Node:
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        inner = qualified.rsplit(".", 1)[0] if "." in qualified else None

        def recursive(value: Any, parent: Path, key: str | int | None, problems: Problems) -> Any:
            return self.named[qualified].convert(value, parent, key, problems)

        # A self-reference inside the record resolves at call time, once it is compiled;
        # its shape is the same object, completed below.
        shape = Shape("record", recursive, name=qualified)
        self.named[qualified] = _Node(recursive, f"record {qualified}", shape=shape)
        fields = [self.field(field, inner) for field in schema["fields"]]
        node = _record(qualified.rsplit(".", 1)[-1], fields)
        shape.convert = node.convert
        shape.fields = tuple((f.name, _shape_of(f.node), f.default) for f in fields)
        self.named[qualified] = node = replace(node, shape=shape)
        return node

    def field(self, field: Mapping[str, Any], namespace: str | None) -> _Field:
        node = self.compile(field["type"], namespace, field.get("format"))
        default = self.default(field, node) if "default" in field else _MISSING
        return _Field(field["name"], node, default)

    @staticmethod
    def default(field: Mapping[str, Any], node: _Node) -> Any:
        """The field's JSON default in datum form (Avro writes bytes as ISO-8859-1 text)."""
        raw = field["default"]
        candidates = [raw, raw.encode("latin-1")] if isinstance(raw, str) else [raw]
        for candidate in candidates:
            problems: Problems = []
            value = node.convert(candidate, None, field["name"], problems)
            if not problems:
                return value
        raise SchemaError(f"field {field['name']!r}: default {raw!r} does not fit its type")


class EventValidator:
    """Validates events against one schema; build once, call ``validate`` per event.

    ``validate`` runs code generated for the schema (``schema.fastpath``) and, when
    that is not sure, ``validate_thoroughly``: the reference, which also writes the
    error messages. Both give the same result. The generated code is compiled after
    ``WARM_UP`` validations, when it will pay for its few milliseconds: a short-lived
    process (a Lambda cold start) validating a handful of events never compiles it.
    """

    def __init__(
        self, schema: Any, *, subject: str | None = None, version: int | None = None
    ) -> None:
        decoded = as_schema_json(schema)
        check_schema(decoded)
        if not isinstance(decoded, Mapping) or decoded.get("type") != "record":
            where = Location(schema=subject, version=version)
            raise SchemaError("an event schema must be a record", location=where)
        self.subject = subject
        self.version = version
        self._where = Location(schema=subject, version=version)
        compiled = _Compiler().compile(decoded, decoded.get("namespace"))
        self._root = compiled.convert
        self.shape = _shape_of(compiled)
        self.schema = decoded
        names = {field["name"] for field in decoded["fields"]}
        self._identity = all(name in names for name in IDENTITY_FIELDS)
        self._expected = [
            (name, value)
            for name, value in (("event_type", subject), ("schema_version", version))
            if value is not None and name in names
        ]
        self._fast: Callable[[dict[str, Any]], Any] | None = None
        self._until_fast = WARM_UP
        self._encoders: dict[tuple[str, ...], Compiled] = {}

    def validate(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The event in datum form; a ValidationError lists every problem found."""
        fast = self._fast
        if fast is None:
            self._until_fast -= 1
            if self._until_fast < 0:
                fast = self._compile_fast()
        if fast is not None and type(event) is dict:
            datum = fast(event)
            if datum is not NOT_SURE:
                return datum  # type: ignore[no-any-return]
        return self.validate_thoroughly(event)

    def validate_thoroughly(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """``validate`` without the generated fast path: every check, every problem listed."""
        if not isinstance(event, Mapping):
            kind = type(event).__name__
            raise ValidationError(
                f"an event must be a JSON object, got {kind}", location=self._where
            )
        problems: Problems = []
        datum: dict[str, Any] = self._root(event, None, None, problems)
        self._check_envelope(datum, problems)
        if problems:
            raise self._error(event, problems)
        return datum

    def fused_encoder(self, exports: tuple[str, ...] = ()) -> Compiled:
        """Validation fused with Avro encoding for this schema (``fastpath.compile_encoder``).

        Compiled on first use per ``exports``; ``bind(wire_header)`` makes the encoder.
        """
        compiled = self._encoders.get(exports)
        if compiled is None:
            from martech_bus.schema.avro_writer import compile_writer
            from martech_bus.schema.fastpath import compile_encoder

            writer = compile_writer(self.schema).root
            compiled = compile_encoder(self.shape, writer, self._rules(), exports)
            self._encoders[exports] = compiled
        return compiled

    def _compile_fast(self) -> Callable[[dict[str, Any]], Any]:
        from martech_bus.schema.fastpath import compile_converter

        fast: Callable[[dict[str, Any]], Any] = compile_converter(self.shape, self._rules()).bind()
        self._fast = fast
        return fast

    def _rules(self) -> Envelope:
        from martech_bus.schema.fastpath import Envelope

        identity = IDENTITY_FIELDS if self._identity else ()
        return Envelope(identity, tuple(self._expected))

    def _check_envelope(self, datum: dict[str, Any], problems: Problems) -> None:
        if self._identity and not (
            _non_blank(datum.get(_USER_ID)) or _non_blank(datum.get(_ANONYMOUS_ID))
        ):
            message = "an event needs a non-empty user_id or anonymous_id"
            _fail(problems, None, _USER_ID, message)
        for name, expected in self._expected:
            actual = datum.get(name)
            # A value of the wrong type was reported already; only compare like with like.
            if type(actual) is type(expected) and actual != expected:
                what = "subject" if name == "event_type" else "version"
                message = f"{name} is {actual!r} but the schema's {what} is {expected!r}"
                _fail(problems, None, name, message)

    def _error(self, event: Mapping[str, Any], problems: Problems) -> ValidationError:
        where = replace(self._where, event_id=_event_id(event))
        found = [
            Problem(text, replace(where, path=render_path(at) or None)) for at, text in problems
        ]
        count = len(found)
        message = f"invalid event ({count} problem{'s' if count > 1 else ''})"
        return ValidationError(message, location=where, problems=found)


def _non_blank(value: Any) -> bool:
    return type(value) is str and value != "" and not value.isspace()


def _event_id(event: Mapping[str, Any]) -> str | None:
    """The event id for error locations, when it is readable."""
    event_id = event.get("event_id")
    return event_id[:100] if isinstance(event_id, str) else None


# Keyed by the entry itself (its id, dropped when the entry dies), not by fingerprint: the
# Parsing Canonical Form ignores logical types, "format" and defaults, so two different
# schemas for one subject version (a reloaded catalogue) may share a fingerprint.
_VALIDATORS: dict[int, EventValidator] = {}


def validator_for(entry: RegisteredSchema) -> EventValidator:
    """The validator of a registry entry, compiled on first use and kept while the entry lives."""
    validator = _VALIDATORS.get(id(entry))
    if validator is None:
        fresh = EventValidator(entry.schema, subject=entry.subject, version=entry.version)
        validator = _VALIDATORS.setdefault(id(entry), fresh)
        if validator is fresh:
            weakref.finalize(entry, _VALIDATORS.pop, id(entry), None)
    return validator


def _utc_now() -> datetime:
    return datetime.now(UTC)


def validate_event(
    registry: SchemaRegistry,
    event: Mapping[str, Any],
    *,
    now: Callable[[], datetime] | None = None,
) -> tuple[RegisteredSchema, dict[str, Any]]:
    """Choose the event's schema (``event_type``, ``schema_version`` or the latest) and validate.

    ``received_at`` is filled with ``now()`` (default: the UTC clock), and
    ``schema_version`` with the chosen version, when absent or None. The input
    mapping is never modified.
    """
    entry = _lookup(registry, event)
    return entry, validator_for(entry).validate(filled_event(event, entry.version, now))


def filled_event(
    event: Mapping[str, Any], version: int, now: Callable[[], datetime] | None = None
) -> dict[str, Any]:
    """``event`` as ``validate_event`` validates it: a copy, with ``received_at`` (``now()``)
    and ``schema_version`` (``version``) filled where absent or None."""
    filled = dict(event)
    if filled.get("received_at") is None:
        filled["received_at"] = (now or _utc_now)()
    if filled.get("schema_version") is None:
        filled["schema_version"] = version
    return filled


def _lookup(registry: SchemaRegistry, event: Mapping[str, Any]) -> RegisteredSchema:
    if not isinstance(event, Mapping):
        raise ValidationError(f"an event must be a JSON object, got {type(event).__name__}")
    event_type, version = event.get("event_type"), event.get("schema_version")
    if event_type is None:
        raise _lookup_error(event, "event_type", "missing required field 'event_type'")
    if not isinstance(event_type, str):
        raise _lookup_error(event, "event_type", f"expected string, got {_show(event_type)}")
    if version is not None and type(version) is not int:
        raise _lookup_error(event, "schema_version", f"expected int, got {_show(version)}")
    try:
        registry.versions(event_type)
    except UnknownSchemaError as exc:
        raise _lookup_error(event, "event_type", exc.message) from None
    try:
        return registry.get(event_type, version)
    except UnknownSchemaError as exc:
        raise _lookup_error(event, "schema_version", exc.message) from None


def _lookup_error(event: Mapping[str, Any], path: str, message: str) -> ValidationError:
    subject = event.get("event_type")
    where = Location(
        schema=subject if isinstance(subject, str) else None, event_id=_event_id(event)
    )
    problem = Problem(message, replace(where, path=path))
    return ValidationError(
        "cannot choose a schema for the event", location=where, problems=[problem]
    )


__all__ = [
    "FORMATS",
    "NOT_SURE",
    "NO_DEFAULT",
    "WARM_UP",
    "EventValidator",
    "Shape",
    "canonical_uuid",
    "decimal_quantum",
    "filled_event",
    "from_epoch",
    "render_path",
    "to_utc",
    "validate_event",
    "validator_for",
]
