"""Built-in transforms, the default registry, and the ``@transform`` decorator.

Transforms never see undefined or null (the pipeline skips them); they raise
``TypeError`` for a value of the wrong type and ``ValueError`` for a bad value, and
the compiled mapping turns either into a ``MappingError`` naming the transform,
the output field and the value's type. Returning ``UNDEFINED`` drops the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from martech_bus.mapping.registry import (
    ENTRY_POINT_GROUP,
    Inline,
    Inliner,
    Lookups,
    Prepare,
    TransformRegistry,
)
from martech_bus.mapping.values import (
    EPOCH,
    MILLISECOND,
    SECOND,
    UNDEFINED,
    as_datetime,
    iso8601,
    json_encode,
    render,
    type_name,
    unix_millis,
    unix_seconds,
)
from martech_bus.schema import iso4217

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")
_NOT_DIGIT: Final = re.compile(r"[^0-9]")
_INT_TEXT: Final = re.compile(r"[-+]?[0-9]+")
_FLOAT_TEXT: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_TRUE: Final = frozenset({"true", "1", "yes"})
_FALSE: Final = frozenset({"false", "0", "no"})


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("expects a string")


def _number(value: Any) -> int | float | Decimal:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    raise TypeError("expects a number")


def _int_arg(value: Any, what: str, minimum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, got {type_name(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return value


def _str_arg(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type_name(value)}")
    return value


# -- text ---------------------------------------------------------------------------------


def lower(value: Any) -> str:
    """Lower-case text."""
    return _text(value).lower()


def upper(value: Any) -> str:
    """Upper-case text."""
    return _text(value).upper()


def trim(value: Any) -> str:
    """Strip leading and trailing whitespace."""
    return _text(value).strip()


def _inline_method(template: str) -> Inliner:
    """``lower``/``upper``/``trim`` on an exact ``str``: the method itself, no call of ours."""
    inline = Inline(((str, template),), defined=True)
    return lambda args: inline


def truncate(value: Any, length: int) -> str:
    """At most ``length`` characters."""
    return _text(value)[:length]


def _prepare_truncate(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    _int_arg(args["length"], "length", 0)
    return args


def replace(value: Any, pattern: re.Pattern[str], with_: str = "") -> str:
    """Replace every match of a regular expression (``\\1`` refers to a group)."""
    return pattern.sub(with_, _text(value))


def _prepare_replace(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    try:
        pattern = re.compile(_str_arg(args["pattern"], "pattern"))
        pattern.sub(_str_arg(args["with_"], "with"), "")  # checks group references now
    except re.error as exc:
        raise ValueError(f"invalid regular expression or replacement: {exc}") from None
    return {**args, "pattern": pattern}


def split(value: Any, separator: str | None = None) -> list[str]:
    """Split text on ``separator`` (on runs of whitespace when omitted)."""
    return _text(value).split(separator)


def _prepare_split(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    if args["separator"] is not None and not _str_arg(args["separator"], "separator"):
        raise ValueError("separator must not be empty")
    return args


def join(value: Any, separator: str) -> str:
    """Join a list's items as text (rendered like template placeholders)."""
    if not isinstance(value, list | tuple):
        raise TypeError("expects a list")
    return separator.join(map(render, value))


def _prepare_join(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    _str_arg(args["separator"], "separator")
    return args


def concat(value: Any, *parts: Any) -> str:
    """The value followed by each part, as text; an undefined or null part renders empty."""
    return render(value) + "".join(map(render, parts))


# -- numbers ------------------------------------------------------------------------------


def round_(value: Any, digits: int = 0) -> int | float | Decimal:
    """Round half up to ``digits`` decimals, keeping the type (int, float or Decimal)."""
    number = _number(value)
    if isinstance(number, int) and digits >= 0:
        return number
    exact = number if isinstance(number, Decimal) else Decimal(repr(number))
    try:
        rounded = exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"cannot round {number!r}") from None
    if isinstance(number, Decimal):
        return rounded
    return int(rounded) if isinstance(number, int) else float(rounded)


def _prepare_round(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    _int_arg(args["digits"], "digits")
    return args


def _inline_round(args: tuple[Any, ...]) -> Inline | None:
    """``round`` on a Decimal, float or (for ``digits >= 0``) int, with the quantum made once."""
    (digits,) = args
    if not -64 <= digits <= 64:
        return None
    quantum = Decimal(1).scaleb(-digits)  # the same quantum round_() makes per call
    if quantum != Decimal((0, (1,), -digits)):
        return None
    quantize = "{v}.quantize({q}, {half_up})"
    cases: list[tuple[type, str]] = [(Decimal, quantize)]
    if digits >= 0:
        cases.append((int, "{v}"))
    cases.append((float, "{float}({Decimal}({repr}({v})).quantize({q}, {half_up}))"))
    objects = {"q": quantum, "half_up": ROUND_HALF_UP, "float": float, "Decimal": Decimal}
    return Inline(tuple(cases), {**objects, "repr": repr}, defined=True)


def _to_int(value: Any) -> int:
    if isinstance(value, str):
        if _INT_TEXT.fullmatch(value.strip()):
            return int(value)
        raise ValueError(f"cannot cast {value[:40]!r} to int")
    number = _number(value)
    if isinstance(number, int):
        return number
    whole = number.is_integer() if isinstance(number, float) else _is_integral(number)
    if not whole:
        raise ValueError(f"{number!r} is not a whole number; round it first")
    return int(number)


def _is_integral(number: Decimal) -> bool:
    return number.is_finite() and number == number.to_integral_value()


def _to_float(value: Any) -> float:
    if isinstance(value, str):
        if not _FLOAT_TEXT.fullmatch(value.strip()):
            raise ValueError(f"cannot cast {value[:40]!r} to float")
        result = float(value)
    else:
        result = float(_number(value))
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("refusing NaN or infinity (not valid JSON)")
    return result


def _to_str(value: Any) -> str:
    if isinstance(value, list | tuple | dict):
        raise TypeError("expects a scalar; use json_encode for lists and objects")
    return render(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded in _TRUE or folded in _FALSE:
            return folded in _TRUE
    raise ValueError(f"cannot cast {type_name(value)} {str(value)[:40]!r} to bool")


_CASTS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "int": _to_int,
    "float": _to_float,
    "str": _to_str,
    "bool": _to_bool,
}


def cast(value: Any, type_: Callable[[Any], Any]) -> Any:
    """Convert to ``int``, ``float``, ``str`` or ``bool`` (strictly: no silent truncation)."""
    return type_(value)


def _prepare_cast(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    target = args["type_"]
    if target not in _CASTS:
        raise ValueError(f"type must be one of {', '.join(_CASTS)}, got {target!r}")
    return {"type_": _CASTS[target]}


_FINITE: Final = {"low": float("-inf"), "high": float("inf"), "float": float}
_CAST_INLINES: Final[Mapping[Callable[[Any], Any], Inline]] = {
    _to_float: Inline(
        (
            # a Decimal beyond float's range becomes inf: _to_float() refuses it
            (Decimal, "{t} if {low} < ({t} := {float}({v})) < {high} else {generic}"),
            (float, "{v} if {low} < {v} < {high} else {generic}"),
            (int, "{float}({v})"),
        ),
        _FINITE,
        defined=True,
    ),
    _to_int: Inline(
        ((int, "{v}"), (float, "{int}({v}) if {v}.is_integer() else {generic}")),
        {"int": int},
        defined=True,
    ),
    _to_str: Inline(
        ((str, "{v}"), (int, "{str}({v})"), (float, "{str}({v})")), {"str": str}, defined=True
    ),
    _to_bool: Inline(((bool, "{v}"),), defined=True),
}


def _inline_cast(args: tuple[Any, ...]) -> Inline | None:
    return _CAST_INLINES.get(args[0])


def _currency_digits(code: Any) -> int:
    if not isinstance(code, str):
        raise TypeError(f"currency must be an ISO 4217 code, got {type_name(code)}")
    try:
        return iso4217.minor_units(code)
    except (LookupError, ValueError) as exc:
        raise ValueError(f"unknown currency {code!r}") from exc


def minor_units(value: Any, currency: Any) -> int:
    """An amount in the currency's minor units (cents): ``12.34`` USD -> ``1234``, half up."""
    if not isinstance(value, int | Decimal) or isinstance(value, bool):
        raise TypeError("expects a Decimal or int amount")
    amount = value if isinstance(value, Decimal) else Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"cannot convert {amount} to minor units")
    scaled = amount.scaleb(_currency_digits(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _prepare_minor_units(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    if "currency" in args:  # a constant currency is checked now, a path per event
        _currency_digits(args["currency"])
    return args


# -- time ---------------------------------------------------------------------------------

# An aware datetime minus the aware EPOCH is what as_datetime() + unix_*() compute; a naive
# one (or a tzinfo without an offset) raises there, and the transform then reports why.
_UNIX_SECONDS: Final = Inline(
    ((datetime, "({v} - {epoch}) // {unit}"), (int, "{v} // {thousand}")),
    {"epoch": EPOCH, "unit": SECOND, "thousand": 1000},
    defined=True,
)
_UNIX_MILLIS: Final = Inline(
    ((datetime, "({v} - {epoch}) // {unit}"), (int, "{v}")),
    {"epoch": EPOCH, "unit": MILLISECOND},
    defined=True,
)


def date_format(value: Any, format_: str) -> str:
    """``strftime`` in UTC."""
    return as_datetime(value).astimezone(UTC).strftime(format_)


def _prepare_date_format(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    fmt = _str_arg(args["format_"], "format")
    if "%" not in fmt:
        raise ValueError(f"format has no %-directives: {fmt!r}")
    try:
        datetime.strftime(EPOCH, fmt)
    except ValueError as exc:
        raise ValueError(f"invalid format {fmt!r}: {exc}") from None
    return args


# -- lookups, hashing, JSON ---------------------------------------------------------------


def lookup(value: Any, table: Mapping[str, Any], default: Any = UNDEFINED) -> Any:
    """The table's entry for the value (ints by their decimal text), else ``default``."""
    if isinstance(value, str):
        return table.get(value, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return table.get(str(value), default)
    raise TypeError("expects a string or integer key")


def _inline_lookup(args: tuple[Any, ...]) -> Inline | None:
    table, default = args
    return Inline(((str, "{table}.get({v}, {default})"),), {"table": table, "default": default})


def _prepare_lookup(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    name = _str_arg(args["table"], "table")
    if name not in lookups:
        from martech_bus.mapping.hints import did_you_mean

        known = ", ".join(sorted(lookups)) or "none defined"
        raise ValueError(f"no lookup table {name!r} (tables: {known}){did_you_mean(name, lookups)}")
    return {**args, "table": lookups[name]}


def _phone(text: str) -> str:
    # E.164 without '+': digits only; a leading 00 / 0 is an international or trunk prefix
    return _NOT_DIGIT.sub("", text).lstrip("0")


def _as_is(text: str) -> str:
    return text


_NORMALIZERS: Final[Mapping[str, Callable[[str], str]]] = {
    "email": str.lower,
    "phone": _phone,
    "as_is": _as_is,
}


def sha256(value: Any, normalize: Callable[[Any], Any]) -> Any:
    """SHA-256 hex of normalised PII; a 64-hex value passes through lower-cased; empty -> undefined."""
    return normalize(value)


def _prepare_sha256(args: dict[str, Any], lookups: Lookups) -> dict[str, Any]:
    kind = args["normalize"]
    if kind not in _NORMALIZERS:
        raise ValueError(f"normalize must be one of {', '.join(_NORMALIZERS)}, got {kind!r}")
    import hashlib  # paid only by mappings that hash

    digest, norm, is_hex = hashlib.sha256, _NORMALIZERS[kind], _HEX64.fullmatch
    email, as_is = norm is str.lower, norm is _as_is

    def hash_text(value: Any) -> Any:
        # any value but an exact str: the plain rules, step by step
        text = _text(value)
        stripped = text.strip()
        if not stripped:
            return UNDEFINED
        if is_hex(stripped):
            return stripped.lower()
        normalized = text if as_is else stripped.lower() if email else norm(stripped)
        if not normalized:
            return UNDEFINED
        return digest(normalized.encode("utf-8")).hexdigest()

    def hash_pii(value: Any) -> Any:
        if value.__class__ is not str:
            return hash_text(value)
        stripped = value.strip()
        if not stripped:
            return UNDEFINED
        if len(stripped) == 64 and is_hex(stripped):  # the regex only for the right length
            return stripped.lower()
        normalized = value if as_is else stripped.lower() if email else norm(stripped)
        if not normalized:
            return UNDEFINED
        return digest(normalized.encode("utf-8")).hexdigest()

    return {"normalize": hash_pii}


def _inline_sha256(args: tuple[Any, ...]) -> Inline | None:
    """``sha256(value, normalize)`` is ``normalize(value)``: call the prepared hasher directly."""
    return Inline(((str, "{hash}({v})"),), {"hash": args[0]})


def json_encode_(value: Any) -> str:
    """Compact JSON text (Decimal as a string, datetimes as ISO-8601)."""
    return json_encode(value)


_Builtin = tuple[str, Callable[..., Any], Iterable[str], Prepare | None, Inliner | None]
_BUILTINS: Final[tuple[_Builtin, ...]] = (
    ("lower", lower, (), None, _inline_method("{v}.lower()")),
    ("upper", upper, (), None, _inline_method("{v}.upper()")),
    ("trim", trim, (), None, _inline_method("{v}.strip()")),
    ("truncate", truncate, ("length",), _prepare_truncate, None),
    ("replace", replace, ("pattern", "with_"), _prepare_replace, None),
    ("split", split, ("separator",), _prepare_split, None),
    ("join", join, ("separator",), _prepare_join, None),
    ("concat", concat, (), None, None),
    ("round", round_, ("digits",), _prepare_round, _inline_round),
    ("cast", cast, ("type_",), _prepare_cast, _inline_cast),
    ("minor_units", minor_units, (), _prepare_minor_units, None),
    ("to_unix_seconds", unix_seconds, (), None, lambda args: _UNIX_SECONDS),
    ("to_unix_millis", unix_millis, (), None, lambda args: _UNIX_MILLIS),
    ("iso8601", iso8601, (), None, None),
    ("date_format", date_format, ("format_",), _prepare_date_format, None),
    ("lookup", lookup, ("table", "default"), _prepare_lookup, _inline_lookup),
    ("sha256", sha256, ("normalize",), _prepare_sha256, _inline_sha256),
    ("json_encode", json_encode_, (), None, None),
)


def new_registry(*, builtins: bool = True, entry_points: bool = True) -> TransformRegistry:
    """A fresh registry (with the built-ins unless told otherwise)."""
    registry = TransformRegistry(entry_point_group=ENTRY_POINT_GROUP if entry_points else None)
    if builtins:
        for name, func, constant, prepare, inline in _BUILTINS:
            registry.register(name, func, constant=constant, prepare=prepare, inline=inline)
    return registry


#: The registry mappings use unless given another.
REGISTRY: Final = new_registry()

BUILTIN_NAMES: Final = frozenset(name for name, *_ in _BUILTINS)


def transform(
    name: str,
    *,
    constant: Iterable[str] = (),
    prepare: Prepare | None = None,
    registry: TransformRegistry | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a custom transform: ``@transform("slugify") def slugify(value, sep="-"): ...``."""
    return (registry or REGISTRY).transform(name, constant=constant, prepare=prepare)
