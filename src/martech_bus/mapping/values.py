"""Runtime value semantics shared by paths, transforms and compiled mappings.

``UNDEFINED`` is "no value here" (a missing key, a path through a non-object);
it is distinct from ``None`` (an explicit null), which mappings keep in the output.
Everything here is stdlib only: it runs inside every compiled mapping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final


class _Undefined:
    """The type of ``UNDEFINED``; falsy so ``value or default`` reads naturally."""

    __slots__ = ()
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
SECOND: Final = timedelta(seconds=1)
MILLISECOND: Final = timedelta(milliseconds=1)


def type_name(value: object) -> str:
    """The name users see for a value's type (``null`` rather than ``NoneType``)."""
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    return type(value).__name__


def is_present(value: object) -> bool:
    """Defined and not null."""
    return value is not UNDEFINED and value is not None


def is_blank(value: object) -> bool:
    """Undefined, null, a whitespace-only string, or an empty list/object."""
    if value is UNDEFINED or value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict):
        return not value
    return False


def same_value(left: object, right: object) -> bool:
    """Equality where booleans never equal numbers (``True != 1``), unlike Python's ``==``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def fresh_copy(value: Any) -> Any:
    """A copy of nested lists/dicts, so a mapping's constants never leak into a payload."""
    if isinstance(value, dict):
        return {k: fresh_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh_copy(v) for v in value]
    return value


def as_datetime(value: object) -> datetime:
    """An aware datetime from an aware datetime, an ISO-8601 string with offset, or epoch millis."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError("expects a timezone-aware datetime, got a naive datetime")
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO-8601 timestamp: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"ISO-8601 timestamp without a UTC offset: {value[:40]!r}")
        return parsed
    if isinstance(value, int) and not isinstance(value, bool):
        return EPOCH + timedelta(milliseconds=value)
    raise TypeError(
        "expects an aware datetime, an ISO-8601 string with offset or epoch millis (int), "
        f"got {type_name(value)}"
    )


def unix_seconds(value: object) -> int:
    """Whole seconds since the epoch (floored)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value // 1000
    return (as_datetime(value) - EPOCH) // SECOND


def unix_millis(value: object) -> int:
    """Whole milliseconds since the epoch (floored)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return (as_datetime(value) - EPOCH) // MILLISECOND


def iso8601(value: object) -> str:
    """UTC, millisecond precision, ``Z`` suffix: ``2024-05-01T12:00:00.000Z``."""
    utc = as_datetime(value).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def render(value: object) -> str:
    """Text for templates, ``concat`` and ``join``: undefined and null render empty."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Decimal):
        # "f" keeps 1E+2 from leaking into text meant for people and vendors
        return format(value, "f")
    if isinstance(value, datetime):
        return iso8601(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json_encode(value)
    raise TypeError(f"cannot render a {type_name(value)} value as text")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value} as JSON")
        return format(value, "f")
    if isinstance(value, datetime):
        return iso8601(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode a {type_name(value)} value as JSON")


def json_encode(value: object) -> str:
    """Compact JSON; Decimal as an exact string, datetimes as ISO-8601; NaN is refused."""
    import json  # only mappings that encode JSON pay for the import

    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )
