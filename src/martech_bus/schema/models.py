"""Runtime support of the generated pydantic models: base classes and Avro-faithful field types.

The models themselves are generated from the Avro catalogue (``martech-bus schema
codegen``, see ``martech_bus.schema.codegen``) into a package (``martech_bus.events``)
whose modules import what they need from here; only the decimals, whose precision and
scale come from the schemas, are generated (in the package's ``_decimals`` module, with
``scaled``).

Each type accepts what martech-bus's own validator accepts and holds the Avro
datum form: ints and longs are exact integers within their range (no bools, no
floats), floats are finite, timestamps are aware UTC datetimes truncated to the
type's precision (ISO-8601 strings with an offset and epoch integers are read
too), decimals hold exactly the schema's scale, uuids are lower-case hyphenated
strings, enums are ``Literal`` strings. Where a rule is the validator's, it is the
validator's function (``martech_bus.schema.validate``) that applies it.

This module imports pydantic: only the generated model modules import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Final, Self, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictInt,
    StrictStr,
    model_validator,
)

from martech_bus.schema.avro import FLOAT32_MAX, INT_RANGES
from martech_bus.schema.envelope import IDENTITY_FIELDS
from martech_bus.schema.iso4217 import is_currency
from martech_bus.schema.validate import canonical_uuid, decimal_quantum, from_epoch, to_utc

INT32_MIN, INT32_MAX = INT_RANGES["int"]
INT64_MIN, INT64_MAX = INT_RANGES["long"]
#: Microseconds per unit of each timestamp type.
_MILLIS: Final = 1000
_MICROS: Final = 1


def _exact_int(value: object) -> object:
    """Pydantic's lax mode reads True and 1.0 as 1; Avro ints are exact integers."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    return value


def _uuid(value: object) -> object:
    text = canonical_uuid(value)
    if text is None:
        raise ValueError("expected a UUID")
    return text


def _epoch(value: int, tick: int) -> datetime:
    moment = from_epoch(value, tick)
    if moment is None:
        raise ValueError("epoch integer out of range")
    return moment


def from_millis(millis: int) -> datetime:
    """The aware UTC datetime ``millis`` milliseconds after the epoch."""
    return _epoch(millis, _MILLIS)


def from_micros(micros: int) -> datetime:
    """The aware UTC datetime ``micros`` microseconds after the epoch."""
    return _epoch(micros, _MICROS)


def from_days(days: int) -> date:
    """The date ``days`` days after 1970-01-01."""
    return date(1970, 1, 1) + timedelta(days=days)


def _timestamp_input(tick: int) -> Callable[[object], object]:
    def before(value: object) -> object:
        if isinstance(value, str):
            try:  # the same parser as martech-bus's validator; no bare numbers
                return datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("expected an ISO-8601 timestamp") from None
        if isinstance(value, bool | float):
            raise ValueError("expected a datetime, an ISO-8601 string or an epoch integer")
        if isinstance(value, int):
            return _epoch(value, tick)
        return value

    return before


def _in_utc(tick: int) -> Callable[[datetime], datetime]:
    """UTC, truncated to the type's precision (as the validator and fastavro's writer do)."""

    def after(value: datetime) -> datetime:
        utc = to_utc(value, tick)
        if utc is None:
            raise ValueError("timestamp out of range")
        return utc

    return after


def _date_input(value: object) -> object:
    if isinstance(value, bool | datetime):
        raise ValueError("expected a date")
    if isinstance(value, int):
        try:
            return from_days(value)
        except OverflowError:
            raise ValueError("day count out of range") from None
    return value


def scaled(precision: int, scale: int) -> Callable[[Decimal], Decimal]:
    """Hold decimals at exactly the schema's scale, as Avro stores them (never rounding)."""
    quantum, context = decimal_quantum(precision, scale)

    def quantize(value: Decimal) -> Decimal:
        try:
            return value.quantize(quantum, None, context)
        except ArithmeticError:  # Inexact or InvalidOperation: it does not fit
            raise ValueError(f"does not fit decimal({precision},{scale})") from None

    return quantize


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError("expected an active ISO 4217 currency code, e.g. EUR")
    return value


ExactInt: Final = BeforeValidator(_exact_int)
Int32: TypeAlias = Annotated[StrictInt, Field(ge=INT32_MIN, le=INT32_MAX)]
Int64: TypeAlias = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
Float32: TypeAlias = Annotated[float, Strict(), Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
Float64: TypeAlias = Annotated[float, Strict()]
Uuid: TypeAlias = Annotated[str, BeforeValidator(_uuid)]
TimestampMillis: TypeAlias = Annotated[
    AwareDatetime, BeforeValidator(_timestamp_input(_MILLIS)), AfterValidator(_in_utc(_MILLIS))
]
TimestampMicros: TypeAlias = Annotated[
    AwareDatetime, BeforeValidator(_timestamp_input(_MICROS)), AfterValidator(_in_utc(_MICROS))
]
Date: TypeAlias = Annotated[date, BeforeValidator(_date_input)]
Currency: TypeAlias = Annotated[StrictStr, AfterValidator(_currency)]


class AvroModel(BaseModel):
    """Base of every generated model: immutable, no unknown fields, no inf/NaN.

    Validation errors do not echo input values (events carry personal data).
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        populate_by_name=True,
        protected_namespaces=(),
        hide_input_in_errors=True,
    )

    __avro_name__: ClassVar[str]


class EventModel(AvroModel):
    """Base of the model of one subject version; the identity rule of the envelope."""

    __avro_subject__: ClassVar[str]
    __avro_version__: ClassVar[int]
    __avro_fingerprint__: ClassVar[str]

    @model_validator(mode="after")
    def _check_identity(self) -> Self:
        names = [name for name in IDENTITY_FIELDS if name in type(self).model_fields]
        values = [getattr(self, name) for name in names]
        if names and not any(isinstance(value, str) and value.strip() for value in values):
            raise ValueError(f"at least one of {' / '.join(names)} must be a non-blank string")
        return self


def to_datum(model: AvroModel) -> dict[str, Any]:
    """The Avro datum of ``model``: a plain dict fastavro writes as is."""
    return model.model_dump(mode="python", by_alias=True)


#: What a generated models package re-exports (codegen reads this tuple from the source).
PACKAGE_EXPORTS: Final = (
    "AvroModel",
    "Currency",
    "Date",
    "EventModel",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "TimestampMicros",
    "TimestampMillis",
    "Uuid",
    "to_datum",
)

__all__ = [*PACKAGE_EXPORTS, "ExactInt", "from_days", "from_micros", "from_millis", "scaled"]
