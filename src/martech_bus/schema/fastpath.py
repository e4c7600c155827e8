"""Generated fast paths: validation, and validation fused with Avro encoding, per schema.

The thorough validator (``martech_bus.schema.validate``) keeps a problem list so
that it can report every problem at once, with paths. Most events have none. For
each schema version this module generates straight-line Python that only
decides "valid, here is the result" or "not sure": JSON-form values (decimal
strings, RFC 3339 strings) are converted inline, datum-form values pass a type
test, and rarer forms of one value (a float for a decimal, a ``+02:00`` offset,
an upper-case UUID) go through the thorough converter of just that value. When a
check fails, the generated code gives up (``MISS`` / ``None``) and the caller
runs the thorough validator on the whole event, which produces the detailed
errors (path, schema version, event id). The fast path therefore accepts
exactly what the thorough validator accepts, with an identical result; tests
hold it to that over every catalogue schema.

- ``compile_converter``: event -> datum form (``EventValidator.validate``).
- ``compile_encoder``: event -> the Avro body of its datum form, as the generated
  writer (``martech_bus.schema.avro_writer``) writes it, without building the
  datum (``BusPublisher``), plus the datum values of chosen top-level fields.
  Byte-level code comes from the writer's own generator; where the writer would
  hand a value to fastavro, the fused code gives up instead.

No code from data: field names reach the source only through ``repr``; every
other schema-derived object is a parameter of the generated factory; the code
runs with a handful of builtins.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from martech_bus.schema.avro import FLOAT32_MAX, INT_RANGES
from martech_bus.schema.avro_writer import _BUILTINS as _WRITER_BUILTINS
from martech_bus.schema.avro_writer import (
    _V,
    _At,
    _Cat,
    _chain,
    _Generator,
    _literal,
    encode_long,
)
from martech_bus.schema.avro_writer import _Node as WriterNode
from martech_bus.schema.iso4217 import MINOR_UNITS, is_currency
from martech_bus.schema.validate import _CANONICAL_UUID, NO_DEFAULT, Shape
from martech_bus.schema.validate import NOT_SURE as MISS

#: An event -> its datum form, or ``MISS``.
Converter = Callable[[dict[str, Any]], Any]
#: An event -> (wire bytes, *exported datum values), or None when not sure.
Encoder = Callable[[dict[str, Any]], "tuple[Any, ...] | None"]

_LIMITS: Final = {"float": FLOAT32_MAX, "double": sys.float_info.max}
#: The Python type of each kind's datum form (what the writer's code may rely on).
_DATUM_CAT: Final = {
    "null": _Cat.NONE,
    "boolean": _Cat.BOOL,
    "int": _Cat.INT,
    "long": _Cat.INT,
    "float": _Cat.FLOAT,
    "double": _Cat.FLOAT,
    "bytes": _Cat.BYTES,
    "fixed": _Cat.BYTES,
    "string": _Cat.STR,
    "uuid": _Cat.STR,
    "enum": _Cat.STR,
    "decimal": _Cat.DECIMAL,
    "timestamp": _Cat.DATETIME,
    "date": _Cat.DATE,
    "record": _Cat.DICT,
    "map": _Cat.DICT,
    "array": _Cat.LIST,
}
#: Kinds whose fused code leaves the datum form in the value's variable.
_DATUM_AFTER: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "fixed", "string", "uuid"}
    | {"enum", "date"}
)
#: Deeper nesting than this (blocks of generated code) moves into a function.
_MAX_INDENT: Final = 10
#: Name stems of values used right where they are made (see ``_Gen.fresh``).
_SCRATCH: Final = frozenset({"b", "n", "d", "k", "w", "f", "s", "g"})
_BUILTINS: Final = {**_WRITER_BUILTINS, "dict": dict, "list": list, "str": str}


class _NotSureError(Exception):
    """The fast path is not sure about this event."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """Whole-event rules checked after conversion (the thorough validator's ``_check_envelope``)."""

    #: (user_id, anonymous_id): one must be a non-blank string; empty = no rule.
    identity: tuple[str, ...] = ()
    #: (field, value): a datum value of the same type must be equal.
    expected: tuple[tuple[str, Any], ...] = ()


def _pairs(shape: Shape, node: WriterNode) -> bool:
    """Whether the writer writes the datum of ``shape`` at ``node`` with its own code."""
    if node.opaque:
        return False
    kind, wkind, logical = shape.kind, node.kind, node.logical
    if kind == "timestamp":
        unit = "timestamp-millis" if shape.tick == 1000 else "timestamp-micros"
        return wkind == "long" and logical == unit
    if kind == "date":
        return wkind == "int" and logical == "date"
    if kind == "uuid":
        return wkind == "string" and logical == "uuid"
    if kind == "decimal":
        return (
            logical == "decimal"
            and wkind in ("bytes", "fixed")
            and (node.precision, node.scale) == (shape.precision, shape.scale)
        )
    if kind == "int":  # time-millis writes an int as an int
        return wkind == "int" and logical in (None, "time-millis")
    if kind == "long":  # so do time-micros and local timestamps
        return wkind == "long" and logical in (
            None,
            "time-micros",
            "local-timestamp-millis",
            "local-timestamp-micros",
        )
    if kind == "fixed":
        return wkind == "fixed" and logical is None and node.size == shape.size
    if kind == "enum":
        return wkind == "enum" and node.symbols == shape.symbols
    return wkind == kind and logical is None


def _children(shape: Shape) -> list[Shape]:
    if shape.kind == "record":
        return [child for _, child, _ in shape.fields]
    if shape.kind == "union":
        return list(shape.branches)
    return [shape.items] if shape.items is not None else []


def _shared_records(root: Shape) -> set[int]:
    """Records used more than once (by name, or recursively): each gets its own function."""
    uses: dict[int, int] = {}
    pending = [root]
    while pending:
        shape = pending.pop()
        if shape.kind == "record":
            uses[id(shape)] = uses.get(id(shape), 0) + 1
            if uses[id(shape)] > 1:
                continue
        pending += _children(shape)
    return {key for key, count in uses.items() if count > 1}


def _slow(shape: Shape) -> Callable[[Any], Any]:
    """The thorough converter of one value: its datum form, or ``_NotSureError`` if it has problems."""
    convert = shape.convert
    if convert is None:  # pragma: no cover - the compiler completes every shape
        raise AssertionError(f"{shape.kind}: shape without a converter")

    def slow(value: Any) -> Any:
        problems: list[Any] = []
        result = convert(value, None, None, problems)
        if problems:
            raise _NotSureError
        return result

    return slow


class _Gen(_Generator):
    """Emits the fast path; the writer's generator supplies names, constants and byte code."""

    def __init__(self, root: Shape) -> None:
        super().__init__()
        self.shared = _shared_records(root)
        self._own: dict[tuple[int, bool], str] = {}
        self._slows: dict[int, str] = {}

    # -- small helpers ---------------------------------------------------------------------

    def fresh(self, stem: str) -> str:
        # Scratch values die within the statements that make them, so one name per stem
        # does: fewer locals keep the function's opcodes short (no EXTENDED_ARG). Field,
        # item and output variables outlive nested code and stay unique.
        return f"{stem}_" if stem in _SCRATCH else super().fresh(stem)

    def miss(self) -> str:
        return f"raise {self.bind(_NotSureError)}"

    def slow(self, shape: Shape) -> str:
        name = self._slows.get(id(shape))
        if name is None:
            name = self._slows[id(shape)] = self.bind(_slow(shape))
        return name

    def is_type(self, x: str, kind: type) -> str:
        return f"type({x}) is {self.bind(kind)}"

    def test(self, shape: Shape, x: str, *, exact: bool = True) -> str:
        """A call-free test that ``x`` is already the datum form of ``shape``.

        ``exact=False`` lets a timestamp keep digits below its unit (the writer floors them).
        """
        kind = shape.kind
        if kind == "null":
            return f"{x} is None"
        if kind == "boolean":
            return f"({x} is True or {x} is False)"
        if kind in ("int", "long"):
            low, high = INT_RANGES[kind]
            return f"{self.is_type(x, int)} and {low} <= {x} <= {high}"
        if kind in ("float", "double"):
            limit = self.bind(_LIMITS[kind])
            return f"{self.is_type(x, float)} and -{limit} <= {x} <= {limit}"
        if kind == "bytes":
            return self.is_type(x, bytes)
        if kind == "fixed":
            return f"{self.is_type(x, bytes)} and len({x}) == {shape.size}"
        if kind == "string":
            if shape.check is None:
                return self.is_type(x, str)
            if shape.check is is_currency:  # the same test without a call
                return f"{self.is_type(x, str)} and {x} in {self.bind(MINOR_UNITS)}"
            return f"{self.is_type(x, str)} and {self.bind(shape.check)}({x})"
        if kind == "uuid":
            canonical = self.bind(re.compile(_CANONICAL_UUID).match)
            return f"{self.is_type(x, str)} and {canonical}({x}) is not None"
        if kind == "enum":
            return f"{self.is_type(x, str)} and {x} in {self.bind(frozenset(shape.symbols))}"
        if kind == "decimal":
            quantum = self.bind(Decimal(1).scaleb(-shape.scale))
            digits = shape.precision - shape.scale
            return (
                f"{self.is_type(x, Decimal)} and {x}.same_quantum({quantum})"
                f" and {x}.adjusted() < {digits}"
            )
        if kind == "timestamp":
            test = f"{self.is_type(x, datetime)} and {x}.tzinfo is {self.bind(UTC)}"
            return f"{test} and not {x}.microsecond % {shape.tick}" if exact else test
        if kind == "date":
            return self.is_type(x, date)
        raise AssertionError(f"no datum test for {kind}")

    def leaf(self, shape: Shape, x: str, at: _At, *, exact: bool = True) -> None:
        """Code leaving the datum form of leaf ``x`` in ``x`` (see ``test`` for ``exact``)."""
        slow, test = self.slow(shape), self.test(shape, x, exact=exact)
        if shape.kind == "timestamp":
            parsed = self.fresh("d")
            parse = self.bind(datetime.fromisoformat)
            utc = self.bind(UTC)
            at.line(f"if {self.is_type(x, str)} and ({parsed} := {parse}({x})).tzinfo is {utc}:")
            if exact and shape.tick > 1:
                extra = f"{parsed}.microsecond % {shape.tick}"
                at.line(f"if {extra}:", 1)
                at.line(
                    f"{parsed} = {parsed}.replace(microsecond={parsed}.microsecond - {extra})", 2
                )
            at.line(f"{x} = {parsed}", 1)
            at.line(f"elif not ({test}):")
            at.line(f"{x} = {slow}({x})", 1)
        elif shape.kind == "decimal":
            # "12.5" -> Decimal("12.5000"): the quantized value without quantize(). Digits
            # are Unicode decimals (str.isdecimal), which Decimal() reads as the thorough
            # validator's pattern does; a sign or an exponent takes the thorough converter.
            whole, fraction = self.fresh("w"), self.fresh("f")
            at.line(f"if {self.is_type(x, str)}:")
            at.line(f"{whole}, _, {fraction} = {x}.partition('.')", 1)
            at.line(f"if ({whole} + {fraction}).isdecimal():", 1)
            dot = "'.' + " if shape.scale else ""
            padding = self.bind(self.padding(shape))  # more digits than the scale: IndexError
            number = f"{whole} + {dot}{fraction} + {padding}[len({fraction})]"
            at.line(f"{x} = {self.bind(Decimal)}({number})", 2)
            at.line(f"if {x}.adjusted() >= {shape.precision - shape.scale}: {self.miss()}", 2)
            at.line(f"else: {x} = {slow}({x})", 1)
            at.line(f"elif not ({test}):")
            at.line(f"{x} = {slow}({x})", 1)
        else:
            at.line(f"if not ({test}): {x} = {slow}({x})")

    def own_function(self, shape: Shape, at: _At) -> bool:
        if shape.kind == "record" and id(shape) in self.shared:
            return True
        return shape.kind in ("record", "array", "map") and at.indent > _MAX_INDENT

    # -- datum form ------------------------------------------------------------------------

    def datum(self, shape: Shape, x: str, at: _At, *, inline: bool = False) -> None:
        """Code replacing ``x`` with its datum form (or raising ``_NotSureError``)."""
        kind = shape.kind
        if not inline and self.own_function(shape, at):
            at.line(f"{x} = {self.datum_function(shape)}({x})")
        elif kind == "record":
            at.line(f"if {self.is_type(x, dict)}:")
            self.datum_record(shape, x, at.inner())
            at.line(f"else: {x} = {self.slow(shape)}({x})")
        elif kind == "array":
            assert shape.items is not None
            out, item = self.fresh("o"), self.fresh("i")
            at.line(f"if {self.is_type(x, list)}:")
            at.line(f"{out} = []", 1)
            at.line(f"for {item} in {x}:", 1)
            self.datum(shape.items, item, at.inner(item, extra=2))
            at.line(f"{out}.append({item})", 2)
            at.line(f"{x} = {out}", 1)
            at.line(f"else: {x} = {self.slow(shape)}({x})")
        elif kind == "map":
            assert shape.items is not None
            # The key outlives the value's (maybe nested) code: not a scratch name.
            out, key, item = self.fresh("o"), self.fresh("key"), self.fresh("i")
            at.line(f"if {self.is_type(x, dict)}:")
            at.line(f"{out} = {{}}", 1)
            at.line(f"for {key}, {item} in {x}.items():", 1)
            at.line(f"if not {self.is_type(key, str)}: {self.miss()}", 2)
            self.datum(shape.items, item, at.inner(item, extra=2))
            at.line(f"{out}[{key}] = {item}", 2)
            at.line(f"{x} = {out}", 1)
            at.line(f"else: {x} = {self.slow(shape)}({x})")
        elif kind == "union":
            self.datum_union(shape, x, at)
        else:
            self.leaf(shape, x, at)

    def datum_union(self, shape: Shape, x: str, at: _At) -> None:
        others = [b for b in shape.branches if b.kind != "null"]
        nullable = len(others) < len(shape.branches)
        if len(others) != 1:  # the thorough validator picks the branch
            convert = f"{x} = {self.slow(shape)}({x})"
            at.line(f"if {x} is not None: {convert}" if nullable else convert)
            return
        (other,) = others
        if other.kind in ("record", "array", "map", "decimal", "timestamp"):
            if nullable:
                at.line(f"if {x} is not None:")
                at = at.inner()
            self.datum(other, x, at)
            return
        guard = f"{x} is None or " if nullable else ""
        at.line(f"if not ({guard}{self.test(other, x)}): {x} = {self.slow(shape)}({x})")

    def datum_record(self, shape: Shape, x: str, at: _At) -> dict[str, str]:
        """Code replacing dict ``x`` with the record's datum; returns the field variables."""
        names = [name for name, _, _ in shape.fields]
        at.line(f"if not {self.bind(frozenset(names))}.issuperset({x}): {self.miss()}")
        variables = self.fields(shape, x, at)
        for (_, child, _), v in zip(shape.fields, variables.values(), strict=True):
            self.datum(child, v, at.inner(v, extra=0))
        pairs = ", ".join(f"{_name(name)}: {v}" for name, v in variables.items())
        at.line(f"{x} = {{{pairs}}}")
        return variables

    def fields(self, shape: Shape, x: str, at: _At) -> dict[str, str]:
        """Read every field of dict ``x`` into a variable (a missing required one raises)."""
        variables: dict[str, str] = {}
        get = None
        for name, _, default in shape.fields:
            v = variables[name] = self.fresh("v")
            if default is NO_DEFAULT:
                at.line(f"{v} = {x}[{_name(name)}]")
                continue
            if get is None:
                get = self.fresh("g")
                at.line(f"{get} = {x}.get")
            # A default is datum form: converting it rebuilds containers, so none is shared.
            fallback = "" if default is None else f", {self.bind(default)}"
            at.line(f"{v} = {get}({_name(name)}{fallback})")
        return variables

    def datum_function(self, shape: Shape) -> str:
        key = (id(shape), False)
        name = self._own.get(key) if shape.kind == "record" else None
        if name is None:
            name = self.fresh("_f")
            if shape.kind == "record":
                self._own[key] = name
            body: list[str] = []
            self.datum(shape, "x0", _At("x0", b"", body, 1), inline=True)
            self.functions.append([f"def {name}(x0):", *body, "    return x0", ""])
        return name

    # -- fused: validation and Avro bytes --------------------------------------------------

    def encode(
        self, shape: Shape, node: WriterNode, x: str, at: _At, *, inline: bool = False
    ) -> None:
        """Code appending the Avro bytes of ``x``'s datum form (and ``at.prefix``) to ``buf``."""
        kind = shape.kind
        if not _pairs(shape, node):
            at.line(self.miss())  # the writer leaves this value to fastavro: so do we
        elif not inline and self.own_function(shape, at):
            if at.prefix:
                at.line(f"buf.append({_literal(at.prefix)})")
            at.line(f"{self.encode_function(shape, node)}({x}, buf)")
        elif kind == "record":
            at.line(f"if not {self.is_type(x, dict)}: {self.miss()}")
            self.encode_record(shape, node, x, at)
        elif kind == "array":
            assert shape.items is not None and node.items is not None
            item = self.fresh("i")
            at.line(f"if not {self.is_type(x, list)}: {self.miss()}")
            self.open_block(at)
            at.line(f"for {item} in {x}:", 1)
            self.encode(shape.items, node.items, item, at.inner(item, extra=2))
            self.close_block(at)
        elif kind == "map":
            assert shape.items is not None and node.items is not None
            key, item, data = self.fresh("k"), self.fresh("i"), self.fresh("b")
            at.line(f"if not {self.is_type(x, dict)}: {self.miss()}")
            self.open_block(at)
            at.line(f"for {key}, {item} in {x}.items():", 1)
            at.line(f"if not {self.is_type(key, str)}: {self.miss()}", 2)
            at.line(f"{data} = {self.bind(str.encode)}({key})", 2)
            self.put_sized(at.inner(extra=0), data, 2)
            self.encode(shape.items, node.items, item, at.inner(item, extra=2))
            self.close_block(at)
        elif kind == "union":
            self.encode_union(shape, node, x, at)
        elif kind == "decimal":
            self.encode_decimal(shape, node, x, at)
        else:
            if kind == "enum":  # the writer's symbol table rejects what the validator rejects
                at.line(f"if not {self.is_type(x, str)}: {x} = {self.slow(shape)}({x})")
            elif kind not in ("null", "boolean"):  # the writer's own tests are the validator's
                self.leaf(shape, x, at, exact=False)
            if kind in ("int", "long"):
                self.put_int(replace(at, v=x), x)  # type and range checked by ``leaf``
            else:
                self.emit(node, replace(at, v=x, known=_DATUM_CAT[kind]))

    def encode_record(
        self, shape: Shape, node: WriterNode, x: str, at: _At, datum: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        """Fields of dict ``x``; the ``datum`` ones end holding their datum form."""
        names = [name for name, _, _ in shape.fields]
        if names != [name for name, _ in node.fields]:  # pragma: no cover - one schema, one order
            raise AssertionError(f"record {shape.name}: the writer's fields differ")
        at.line(f"if not {self.bind(frozenset(names))}.issuperset({x}): {self.miss()}")
        if at.prefix:
            at.line(f"buf.append({_literal(at.prefix)})")
        variables = self.fields(shape, x, at)
        for (name, child, _), (_, wchild) in zip(shape.fields, node.fields, strict=True):
            v = variables[name]
            here = _At(v, b"", at.out, at.indent)
            if name in datum and not _datum_after(child):
                # Needed in datum form: convert, then write it as the writer writes a datum.
                self.datum(child, v, here)
                self.emit(wchild, replace(here, known=_DATUM_CAT.get(child.kind)))
            else:
                self.encode(child, wchild, v, here)
        return variables

    def encode_union(self, shape: Shape, node: WriterNode, x: str, at: _At) -> None:
        assert not at.prefix  # a union never directly contains a union
        branches = list(shape.branches)
        nulls = [i for i, b in enumerate(branches) if b.kind == "null"]
        others = [i for i, b in enumerate(branches) if b.kind != "null"]
        if nulls:
            (null,) = nulls
            at.line(f"if {x} is None:")
            at.line(f"buf.append({_literal(encode_long(null))})", 1)
            at.line("else:")
            at = at.inner()
        if len(others) != 1:
            # The thorough validator picks the branch, the writer's own union code writes it.
            at.line(f"{x} = {self.slow(shape)}({x})")
            self.emit(node, _At(x, b"", at.out, at.indent))
            return
        (index,) = others
        other = branches[index]
        chain = _chain(node, _DATUM_CAT[other.kind])
        # The validated datum passes a MAYBE test (int range, enum symbol, fixed size).
        if chain[:1] != [(index, _V.ACCEPT)] and chain != [(index, _V.MAYBE)]:
            at.line(self.miss())
            return
        self.encode(other, node.branches[index], x, _At(x, encode_long(index), at.out, at.indent))

    def encode_decimal(self, shape: Shape, node: WriterNode, x: str, at: _At) -> None:
        """A plain decimal string straight to the unscaled int's bytes; other forms via Decimal.

        "12.5" at scale 4 is the int 125000. Only unsigned digit strings take this path
        (see ``leaf``): fastavro's negative-zero quirk for fixed cannot arise, and the
        two's complement is the unsigned form (to_bytes needs no slower keyword).
        """
        n, size = self.fresh("n"), self.fresh("k")
        whole, fraction, digits = self.fresh("w"), self.fresh("f"), self.fresh("s")
        scales = self.bind(tuple(10 ** (shape.scale - k) for k in range(shape.scale + 1)))
        at.line(f"if {self.is_type(x, str)}:")
        at.line(f"{whole}, _, {fraction} = {x}.partition('.')", 1)
        at.line(f"{digits} = {whole} + {fraction}", 1)
        at.line(f"if {digits}.isdecimal():", 1)
        at.line(f"{n} = int({digits}) * {scales}[len({fraction})]", 2)  # too long: IndexError
        if node.kind == "fixed":
            bound = min(10**shape.precision, 2 ** (8 * node.size - 1))
            at.line(f"if {n} >= {self.bind(bound)}: {self.miss()}", 2)
            self.put(at, f"{n}.to_bytes({node.size}, 'big')", 2)
        else:
            at.line(f"if {n} >= {self.bind(10**shape.precision)}: {self.miss()}", 2)
            # By bit length: fastavro's byte count, (bits + 8) // 8, and its length prefix.
            widest = (10**shape.precision - 1).bit_length() + 1
            counts = [(bits + 8) >> 3 for bits in range(widest)]
            prefixes = tuple(at.prefix + encode_long(count) for count in counts)
            at.line(f"{size} = {n}.bit_length()", 2)
            at.line(f"buf.append({self.bind(prefixes)}[{size}])", 2)
            at.line(f"buf.append({n}.to_bytes({self.bind(tuple(counts))}[{size}], 'big'))", 2)
        at.line("else:", 1)
        at.line(f"{x} = {self.slow(shape)}({x})", 2)
        self.emit(node, at.inner(x, extra=2, prefix=at.prefix, known=_Cat.DECIMAL))
        at.line("else:")
        at.line(f"if not ({self.test(shape, x)}): {x} = {self.slow(shape)}({x})", 1)
        self.emit(node, at.inner(x, prefix=at.prefix, known=_Cat.DECIMAL))

    @staticmethod
    def padding(shape: Shape) -> tuple[str, ...]:
        """Zeros completing k fractional digits to the scale, by k."""
        return tuple("0" * (shape.scale - k) for k in range(shape.scale + 1))

    def encode_function(self, shape: Shape, node: WriterNode) -> str:
        key = (id(shape), True)
        name = self._own.get(key) if shape.kind == "record" else None
        if name is None:
            name = self.fresh("_f")
            if shape.kind == "record":
                self._own[key] = name
            body: list[str] = []
            self.encode(shape, node, "x0", _At("x0", b"", body, 1), inline=True)
            self.functions.append([f"def {name}(x0, buf):", *body, "    pass", ""])
        return name

    # -- the root --------------------------------------------------------------------------

    def envelope(self, rules: Envelope, variables: dict[str, str], at: _At) -> None:
        if rules.identity:
            blank = [
                f"({self.is_type(v, str)} and {v} != '' and not {v}.isspace())"
                for v in (variables[name] for name in rules.identity)
            ]
            at.line(f"if not ({' or '.join(blank)}): {self.miss()}")
        for name, expected in rules.expected:
            v, e = variables[name], self.bind(expected)
            at.line(f"if type({v}) is type({e}) and {v} != {e}: {self.miss()}")

    def factory(self, body: list[str], *, fused: bool, result: str) -> str:
        miss = "None" if fused else self.bind(MISS)  # bound before the parameter list is made
        lines = [f"def _factory({', '.join([*self.params, '_header'])}):"]
        for function in self.functions:
            lines += [f"    {line}" for line in function]
        lines += [
            "    def run(x0):",
            "        try:",
            *(["            buf = [_header]"] if fused else []),
            *body,
            f"            return {result}",
            "        except Exception:",
            f"            return {miss}",
            "    return run",
            "",
        ]
        return "\n".join(lines)


def _datum_after(shape: Shape) -> bool:
    """Whether the fused code of ``shape`` leaves the value's datum form in its variable."""
    if shape.kind == "union":
        others = [b for b in shape.branches if b.kind != "null"]
        return len(others) != 1 or _datum_after(others[0])
    return shape.kind in _DATUM_AFTER


def _name(name: str) -> str:
    """A field name as a Python literal (only ever through repr)."""
    if type(name) is not str:  # pragma: no cover - check_schema guarantees names
        raise TypeError(f"field name {name!r} is not a str")
    return repr(name)


@dataclass(frozen=True)
class Compiled:
    """Generated code for one schema; ``bind`` makes the callable."""

    source: str
    factory: Callable[..., Any]
    constants: tuple[Any, ...] = field(repr=False)

    def bind(self, header: bytes = b"") -> Any:
        """The generated callable; ``header`` starts every fused body (the wire frame)."""
        return self.factory(*self.constants, header)


def _compile(generator: _Gen, source: str, label: str) -> Compiled:
    namespace: dict[str, Any] = {"__builtins__": _BUILTINS}
    exec(compile(source, f"<generated {label}>", "exec"), namespace)
    return Compiled(source, namespace["_factory"], tuple(generator.params.values()))


def compile_converter(root: Shape, rules: Envelope = Envelope()) -> Compiled:
    """Generated event -> datum form for a record ``root``; ``bind()`` gives a ``Converter``."""
    generator = _Gen(root)
    body: list[str] = []
    at = _At("x0", b"", body, 3)
    at.line(f"if not {generator.is_type('x0', dict)}: {generator.miss()}")
    variables = generator.datum_record(root, "x0", at)
    generator.envelope(rules, variables, at)
    return _compile(generator, generator.factory(body, fused=False, result="x0"), "validator")


def compile_encoder(
    root: Shape, writer: WriterNode, rules: Envelope = Envelope(), exports: tuple[str, ...] = ()
) -> Compiled:
    """Generated event -> (wire header + Avro body, *exports' datum values) for a record ``root``.

    ``writer`` is the writer's parsed tree of the same schema
    (``compile_writer(schema).root``); ``bind(header)`` gives an ``Encoder``. An
    export that is not a field of the record is None.
    """
    generator = _Gen(root)
    body: list[str] = []
    at = _At("x0", b"", body, 3)
    at.line(f"if not {generator.is_type('x0', dict)}: {generator.miss()}")
    names = {name for name, _, _ in root.fields}
    needed = frozenset(
        name
        for name in (*rules.identity, *(n for n, _ in rules.expected), *exports)
        if name in names
    )
    variables: dict[str, str] = {}
    if _pairs(root, writer):
        variables = generator.encode_record(root, writer, "x0", at, needed)
        generator.envelope(rules, variables, at)
    else:  # pragma: no cover - a record the writer leaves to fastavro (a logical type)
        at.line(generator.miss())
    result = ", ".join(["b''.join(buf)", *(variables.get(name, "None") for name in exports)])
    return _compile(
        generator, generator.factory(body, fused=True, result=f"({result},)"), "encoder"
    )


__all__ = [
    "MISS",
    "Compiled",
    "Converter",
    "Encoder",
    "Envelope",
    "compile_converter",
    "compile_encoder",
]
