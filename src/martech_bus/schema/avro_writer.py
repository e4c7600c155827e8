"""A generated Avro binary encoder: schema -> Python source -> one compiled function.

fastavro's ``schemaless_writer`` interprets the schema for every datum (a dict
lookup per node, a call per value). ``compile_writer`` walks the schema once and
generates straight-line Python for it: per field one subscript, an exact type
test and one or two appends of precomputed or cheaply built bytes (length/int
tables, bound ``struct`` packers, a zig-zag varint helper) to a list joined once
at the end (``list.append`` is specialized by CPython; ``bytearray +=`` costs
about half again as much per piece). The code
is compiled once per schema (cached by content digest) and writes exactly
fastavro's bytes -- also its quirks: one block per array/map, a bytes decimal of
(bit_length + 8) // 8 bytes, timestamps floored, a 'float' union branch giving
way to a later 'double'.

The fast path accepts *datum form* (``martech_bus.schema.validate``) and nothing
looser: exact ``dict``/``list``/``int``/``float``/``bool``/``bytes``, ``str`` (or a
subclass), ``Decimal`` at exactly the schema's scale and within its precision,
aware UTC ``datetime`` or epoch ``int`` for timestamps (naive for
local-timestamps), ``date``/``time`` or ``int``, uuid as ``str``. It bails out on
anything else: another type, a missing field, a union choice it does not
reproduce (``_verdict``), a logical type it does not write itself ("opaque":
unknown ones, and ones registered in fastavro at runtime such as
confluent-kafka's "record-variant"). Then the *whole datum* goes to fastavro
(the fallback), so every input fastavro accepts gets fastavro's bytes; what
fastavro cannot write either raises ``CodecError`` naming where the datum leaves
datum form. The fast path never guesses, and never writes a value fastavro
would reject.

No code from data: names, symbols, namespaces, defaults and docs never reach
the generated source (it is identical for two schemas that differ only in
those). Every schema-derived object -- field names, symbol tables, contexts --
is a parameter of the generated factory (``_c0``, ``_c1``, ...); identifiers are
generated here; the only literals are numbers and bytes computed here. The code
runs with a handful of builtins only.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, Inexact, InvalidOperation, Rounded
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from martech_bus.errors import CodecError, Location, SchemaError
from martech_bus.schema.avro import (
    INT_RANGES,
    PRIMITIVES,
    as_schema_json,
    check_schema,
    content_digest,
    full_name,
)

if TYPE_CHECKING:
    from martech_bus.schema.registry import RegisteredSchema

#: Encodes one datum into an Avro body.
Writer: TypeAlias = Callable[[Any], bytes]
#: Called with (datum, the exception that stopped the fast path); returns the body or raises.
Fallback: TypeAlias = Callable[[Any, Exception], bytes]

_LONG_MIN, _LONG_MAX = INT_RANGES["long"]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE: Final = datetime(1970, 1, 1)
_MILLI: Final = timedelta(milliseconds=1)
_MICRO: Final = timedelta(microseconds=1)
_DAYS_SHIFT: Final = date(1970, 1, 1).toordinal()
#: Lengths and small ints below this come from tables instead of the varint helper.
_TABLE: Final = 256
#: Deeper nesting than this (blocks of generated code) moves into a helper function.
_MAX_INDENT: Final = 12
_CACHE_LIMIT: Final = 512


# -- varints -----------------------------------------------------------------------------------


def _uvarint_slow(z: int) -> bytes:
    out = bytearray()
    while z > 0x7F:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_BYTE: Final = tuple(bytes((i,)) for i in range(256))


def _uvarint(z: int) -> bytes:
    """The unsigned LEB128 varint of ``z >= 0`` (Avro longs after zig-zag)."""
    if z < 0x80:
        return _BYTE[z]
    if z < 0x4000:
        return bytes((z & 0x7F | 0x80, z >> 7))
    if z < 0x200000:
        return bytes((z & 0x7F | 0x80, z >> 7 & 0x7F | 0x80, z >> 14))
    if z < 0x10000000:
        return bytes((z & 0x7F | 0x80, z >> 7 & 0x7F | 0x80, z >> 14 & 0x7F | 0x80, z >> 21))
    if z < 0x800000000:
        return bytes(
            (
                z & 0x7F | 0x80,
                z >> 7 & 0x7F | 0x80,
                z >> 14 & 0x7F | 0x80,
                z >> 21 & 0x7F | 0x80,
                z >> 28,
            )
        )
    if z < 0x40000000000:
        return bytes(
            (
                z & 0x7F | 0x80,
                z >> 7 & 0x7F | 0x80,
                z >> 14 & 0x7F | 0x80,
                z >> 21 & 0x7F | 0x80,
                z >> 28 & 0x7F | 0x80,
                z >> 35,
            )
        )
    return _uvarint_slow(z)


def encode_long(n: int) -> bytes:
    """Avro's int/long encoding (zig-zag varint) of a 64-bit ``n``; OverflowError outside."""
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise OverflowError(f"{n} does not fit an Avro long")
    return _uvarint((n << 1) ^ (n >> 63))


_LENGTHS: dict[bytes, tuple[bytes, ...]] = {}
_INTS: dict[bytes, tuple[bytes, ...]] = {}


def _length_table(prefix: bytes) -> tuple[bytes, ...]:
    """``prefix`` + the encoded long n, for 0 <= n < _TABLE (lengths and counts)."""
    table = _LENGTHS.get(prefix)
    if table is None:
        table = _LENGTHS[prefix] = tuple(prefix + encode_long(n) for n in range(_TABLE))
    return table


def _int_table(prefix: bytes) -> tuple[bytes, ...]:
    """``prefix`` + the encoded long n for -_TABLE <= n < _TABLE, indexed by n (negative wraps)."""
    table = _INTS.get(prefix)
    if table is None:
        values = [*range(_TABLE), *range(-_TABLE, 0)]
        table = _INTS[prefix] = tuple(prefix + encode_long(n) for n in values)
    return table


# -- the schema as a tree of nodes -------------------------------------------------------------


class _FastPathMissError(Exception):
    """The fast path does not handle this datum (fastavro will)."""


#: Logical types fastavro's writer knows ("<physical>-<logical>"), all handled here.
LOGICAL_TYPES: Final = frozenset(
    {
        "long-timestamp-millis",
        "long-timestamp-micros",
        "long-local-timestamp-millis",
        "long-local-timestamp-micros",
        "int-date",
        "int-time-millis",
        "long-time-micros",
        "bytes-decimal",
        "fixed-decimal",
        "string-uuid",
    }
)


@dataclass(eq=False)
class _Node:
    """One schema node. ``kind`` is the Avro type; ``logical`` the fastavro key or None."""

    kind: str
    logical: str | None = None
    name: str | None = None  # full name of named types
    size: int = 0  # fixed
    precision: int = 0  # decimal
    scale: int = 0  # decimal
    symbols: tuple[str, ...] = ()  # enum
    items: _Node | None = None  # array items / map values
    branches: list[_Node] = field(default_factory=list)  # union
    fields: list[tuple[str, _Node]] = field(default_factory=list)  # record
    referenced: bool = False  # a record used by name somewhere (own function)
    #: A logical type this module does not write (unknown, or registered in fastavro by
    #: someone else, e.g. confluent-kafka's "record-variant"): always left to fastavro.
    opaque: bool = False

    def label(self) -> str:
        if self.opaque:
            return f"{self.kind} ({self.logical})"
        if self.logical == "decimal":
            return f"decimal({self.precision},{self.scale})"
        if self.logical is not None:
            return self.logical
        if self.kind in ("record", "enum", "fixed"):
            return f"{self.kind} {self.name}"
        if self.kind == "union":
            return "one of " + ", ".join(b.label() for b in self.branches)
        return self.kind


class _Parser:
    """Decoded Avro JSON -> ``_Node`` tree; named types resolve as in the Avro spec."""

    def __init__(self) -> None:
        self.named: dict[str, _Node] = {}

    def parse(self, schema: Any, namespace: str | None) -> _Node:
        node = self.node(schema, namespace)
        if isinstance(schema, Mapping) and "logicalType" in schema:
            logical = str(schema["logicalType"])
            if f"{node.kind}-{logical}" not in LOGICAL_TYPES:
                # fastavro applies whatever writer is registered for it when it writes.
                if node.name is not None and "name" not in schema:
                    node = _Node(node.kind, name=node.name)  # {"type": "Name", ...}: a copy
                node.opaque, node.logical = True, logical
        return node

    def node(self, schema: Any, namespace: str | None) -> _Node:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return _Node(schema)
            node = self.named.get(full_name(schema, namespace)) or self.named.get(schema)
            if node is None:
                raise SchemaError(f"unknown type {schema!r}")
            if node.kind in ("record", "error"):
                node.referenced = True
            return node
        if isinstance(schema, list):
            return _Node("union", branches=[self.parse(b, namespace) for b in schema])
        kind = schema["type"]
        if kind in ("record", "error"):
            qualified = full_name(schema["name"], schema.get("namespace", namespace))
            inner = qualified.rpartition(".")[0] or None
            node = self.named[qualified] = _Node("record", name=qualified)
            node.fields = [(f["name"], self.parse(f["type"], inner)) for f in schema["fields"]]
            return node
        if kind == "enum":
            return self.define(schema, namespace, _Node("enum", symbols=tuple(schema["symbols"])))
        if kind == "fixed":
            node = _Node("fixed", size=schema["size"])
            if schema.get("logicalType") == "decimal":
                node.logical = "decimal"
                node.precision, node.scale = schema["precision"], schema.get("scale", 0)
            return self.define(schema, namespace, node)
        if kind == "array":
            return _Node("array", items=self.parse(schema["items"], namespace))
        if kind == "map":
            return _Node("map", items=self.parse(schema["values"], namespace))
        if not isinstance(kind, str) or kind not in PRIMITIVES:
            return self.parse(kind, namespace)  # {"type": "Name"} or {"type": {...}}
        logical = schema.get("logicalType")
        if f"{kind}-{logical}" not in LOGICAL_TYPES:
            return _Node(kind)  # no logical type, or one made opaque by ``parse``
        node = _Node(kind, logical=logical)
        if logical == "decimal":
            node.precision, node.scale = schema["precision"], schema.get("scale", 0)
        return node

    def define(self, schema: Mapping[str, Any], namespace: str | None, node: _Node) -> _Node:
        node.name = full_name(schema["name"], schema.get("namespace", namespace))
        self.named[node.name] = node
        return node


# -- union branch choice: fastavro's rules for datum-form types --------------------------------


class _Cat(Enum):
    """The Python types the fast path dispatches on (exact types: subclasses miss)."""

    NONE = "None"
    STR = "str"
    DICT = "dict"
    DATETIME = "datetime"
    DECIMAL = "Decimal"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    LIST = "list"
    BYTES = "bytes"
    DATE = "date"
    TIME = "time"


#: The exact Python type of each category (also the order a union dispatch tests them in).
_TYPES: Final[dict[_Cat, type]] = {
    _Cat.NONE: type(None),
    _Cat.STR: str,
    _Cat.DICT: dict,
    _Cat.DATETIME: datetime,
    _Cat.DECIMAL: Decimal,
    _Cat.INT: int,
    _Cat.FLOAT: float,
    _Cat.BOOL: bool,
    _Cat.LIST: list,
    _Cat.BYTES: bytes,
    _Cat.DATE: date,
    _Cat.TIME: time,
}


class _V(Enum):
    REJECT = "fastavro's validation rejects every value of this type: try the next branch"
    ACCEPT = "fastavro picks this branch for every value of this type"
    MAYBE = "fastavro picks it when a cheap test holds (range, symbol, size), else goes on"
    UNSURE = "fastavro's choice is not reproduced here: leave the datum to fastavro"


_LONG_LOGICAL: Final = frozenset(
    {"timestamp-millis", "timestamp-micros", "local-timestamp-millis", "local-timestamp-micros"}
)


def _verdict(node: _Node, cat: _Cat, union: _Node) -> _V:
    """What fastavro's union writer does with a value of ``cat`` at branch ``node``.

    fastavro validates the branches in order (after the logical type's "prepare")
    and takes the first that validates -- except that a record takes the record
    with the most matching fields and a 'float' gives way to a later 'double'.
    The table is checked against fastavro in tests/schema/test_avro_writer.py.
    """
    kind, logical = node.kind, node.logical
    if node.opaque:
        return _V.UNSURE  # its logical writer may turn any value into anything
    if cat is _Cat.NONE:
        return _V.ACCEPT if kind == "null" else _V.REJECT
    if cat in (_Cat.DICT, _Cat.LIST):
        wanted = ("record", "map") if cat is _Cat.DICT else ("array",)
        if kind not in wanted:
            return _V.REJECT
        alike = sum(b.kind in wanted for b in union.branches)
        return _V.ACCEPT if alike == 1 else _V.UNSURE  # fastavro compares them deeply
    if logical == "decimal":
        if cat is _Cat.DECIMAL:
            return _V.ACCEPT
        return _V.UNSURE if cat is _Cat.BYTES else _V.REJECT  # raw bytes pass through
    if logical in _LONG_LOGICAL:
        if cat is _Cat.DATETIME:
            return _V.ACCEPT
        return _V.MAYBE if cat is _Cat.INT else _V.REJECT
    if logical == "date":
        if cat is _Cat.DATE:
            return _V.ACCEPT
        if cat is _Cat.INT:
            return _V.MAYBE
        # fastavro converts a datetime (a date) and parses a str (or raises).
        return _V.UNSURE if cat in (_Cat.DATETIME, _Cat.STR) else _V.REJECT
    if logical in ("time-millis", "time-micros"):
        if cat is _Cat.TIME:
            return _V.ACCEPT
        return _V.MAYBE if cat is _Cat.INT else _V.REJECT
    # Physical types (uuid is a string: fastavro only converts uuid.UUID objects).
    if kind in ("int", "long"):
        return _V.MAYBE if cat is _Cat.INT else _V.REJECT
    if kind in ("float", "double"):
        if cat is _Cat.FLOAT:
            return _V.ACCEPT
        return _V.UNSURE if cat is _Cat.INT else _V.REJECT  # an int becomes a float
    accepting = {
        "null": None,
        "boolean": _Cat.BOOL,
        "string": _Cat.STR,
        "bytes": _Cat.BYTES,
    }
    if kind in accepting:
        return _V.ACCEPT if cat is accepting[kind] else _V.REJECT
    if kind == "enum":
        return _V.MAYBE if cat is _Cat.STR else _V.REJECT
    if kind == "fixed":
        return _V.MAYBE if cat is _Cat.BYTES else _V.REJECT
    if kind == "array":  # bytes is a Sequence: fastavro would write it as an array of ints
        return _V.UNSURE if cat is _Cat.BYTES else _V.REJECT
    return _V.REJECT  # record, map: only dicts (above)


def _chain(union: _Node, cat: _Cat) -> list[tuple[int, _V]]:
    """The branches fastavro tries for a value of ``cat``, up to the decisive one.

    Ends with an ACCEPT or UNSURE entry, or runs out (no branch: fastavro raises).
    """
    out: list[tuple[int, _V]] = []
    for index, branch in enumerate(union.branches):
        verdict = _verdict(branch, cat, union)
        if verdict is _V.REJECT:
            continue
        if verdict is _V.ACCEPT and branch.kind == "float":
            # fastavro prefers a later 'double' and skips everything in between.
            later = [i for i, b in enumerate(union.branches) if i > index and b.kind == "double"]
            out.append((later[0] if later else index, _V.ACCEPT))
            return out
        out.append((index, verdict))
        if verdict is not _V.MAYBE:
            return out
    return out


def _maybe_holds(node: _Node, value: Any) -> bool:
    """The MAYBE test of ``_verdict``, interpreted (for diagnostics)."""
    if node.kind == "enum":
        return value in node.symbols
    if node.kind == "fixed":
        return len(value) == node.size
    low, high = INT_RANGES["int" if node.kind == "int" else "long"]
    return bool(low <= value <= high)


# -- code generation ---------------------------------------------------------------------------

_NUL: Final = b"\x00"
_ONE: Final = b"\x01"


def _literal(data: bytes) -> str:
    """Bytes this module computed (never schema text) as a Python literal."""
    return repr(bytes(data))


@dataclass(frozen=True)
class _At:
    """Where code for one value goes: its variable, what to write first, the output lines."""

    v: str
    prefix: bytes
    out: list[str]
    indent: int
    in_union: bool = False
    known: _Cat | None = None  # the dispatch already established the value's exact type

    def line(self, text: str, extra: int = 0) -> None:
        self.out.append("    " * (self.indent + extra) + text)

    def inner(
        self,
        v: str | None = None,
        *,
        extra: int = 1,
        prefix: bytes = b"",
        known: _Cat | None = None,
    ) -> _At:
        return _At(v or self.v, prefix, self.out, self.indent + extra, self.in_union, known)


class _Generator:
    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self._bound: dict[int, str] = {}  # id -> name; ``params`` keeps the objects alive
        self.functions: list[list[str]] = []
        self._record_functions: dict[int, str] = {}
        self._names = 0

    def bind(self, value: Any) -> str:
        """A generated parameter name holding ``value`` (deduplicated by identity)."""
        name = self._bound.get(id(value))
        if name is None:
            name = self._bound[id(value)] = f"_c{len(self.params)}"
            self.params[name] = value
        return name

    def fresh(self, stem: str) -> str:
        self._names += 1
        return f"{stem}{self._names}"

    def module(self, root: _Node) -> str:
        body: list[str] = []
        self.emit(root, _At("d", b"", body, 3))
        lines = [f"def _factory({', '.join([*self.params, '_fallback'])}):"]
        for function in self.functions:
            lines += [f"    {line}" for line in function]
        lines += [
            "    def encode(d):",
            "        try:",
            "            buf = []",
            *body,
            "            return b''.join(buf)",
            "        except Exception as exc:",
            "            return _fallback(d, exc)",
            "    return encode",
            "",
        ]
        return "\n".join(lines)

    # helpers writing common shapes

    def miss(self) -> str:
        return f"raise {self.bind(_FastPathMissError)}"

    def put(self, at: _At, expression: str, extra: int = 0) -> None:
        if at.prefix:
            at.line(f"buf.append({_literal(at.prefix)})", extra)
        at.line(f"buf.append({expression})", extra)

    def put_length(self, at: _At, size: str, extra: int = 0) -> None:
        """Append the prefix and the long ``size`` (>= 0): a table entry when small."""
        table = self.bind(_length_table(at.prefix))
        tail = f"{_literal(at.prefix)} + " if at.prefix else ""
        at.line(
            f"buf.append({table}[{size}] if {size} < {_TABLE}"
            f" else {tail}{self.bind(_uvarint)}({size} << 1))",
            extra,
        )

    def put_sized(self, at: _At, data: str, extra: int = 0) -> None:
        """Append the prefix, the length of the bytes in ``data``, then the bytes."""
        # A table entry, or (256 bytes and more: the table ends) the varint helper. A try
        # costs nothing until it catches (3.11+), unlike testing the length every time.
        table = self.bind(_length_table(at.prefix))
        tail = f"{_literal(at.prefix)} + " if at.prefix else ""
        at.line(f"try: buf.append({table}[len({data})])", extra)
        at.line(
            f"except IndexError: buf.append({tail}{self.bind(_uvarint)}(len({data}) << 1))",
            extra,
        )
        at.line(f"buf.append({data})", extra)

    def put_int(self, at: _At, v: str, extra: int = 0) -> None:
        """Append the prefix and the long in ``v`` (encode_long range-checks large ones)."""
        table = self.bind(_int_table(at.prefix))
        tail = f"{_literal(at.prefix)} + " if at.prefix else ""
        at.line(
            f"buf.append({table}[{v}] if -{_TABLE} <= {v} < {_TABLE}"
            f" else {tail}{self.bind(encode_long)}({v}))",
            extra,
        )

    def check_int(self, kind: str, at: _At, extra: int = 0) -> None:
        if at.known is not _Cat.INT:
            at.line(f"if type({at.v}) is not int: {self.miss()}", extra)
        if kind == "int":  # a long is range-checked by encode_long
            low, high = INT_RANGES[kind]
            at.line(f"if not {low} <= {at.v} <= {high}: {self.miss()}", extra)

    def check_type(self, at: _At, cat: _Cat) -> None:
        if at.known is not cat:
            at.line(f"if type({at.v}) is not {self.bind(_TYPES[cat])}: {self.miss()}")

    # one node: code appending the prefix and the encoding of the value in ``at.v``

    def emit(self, node: _Node, at: _At) -> None:
        if node.opaque:
            at.line(self.miss())
            return
        deep = at.indent > _MAX_INDENT and node.kind in ("record", "array", "map", "union")
        if (node.kind == "record" and node.referenced) or deep:
            function = self.function(node, at.in_union)
            if at.prefix:
                at.line(f"buf.append({_literal(at.prefix)})")
            at.line(f"{function}({at.v}, buf)")
            return
        getattr(self, f"emit_{node.kind}")(node, at)

    def function(self, node: _Node, in_union: bool) -> str:
        """A node as its own function: records used by name (recursion), deep nesting."""
        shared = node.kind == "record"
        name = self._record_functions.get(id(node)) if shared else None
        if name is None:
            name = self.fresh("_f")
            if shared:
                self._record_functions[id(node)] = name
            body: list[str] = []
            # A record function serves every use, so it is as strict as inside a union.
            self.emit_body(node, _At("v", b"", body, 1, in_union or shared))
            self.functions.append([f"def {name}(v, buf):", *body, "    pass", ""])
        return name

    def emit_body(self, node: _Node, at: _At) -> None:
        getattr(self, f"emit_{node.kind}")(node, at)

    # primitives

    def emit_null(self, node: _Node, at: _At) -> None:
        if at.known is not _Cat.NONE:
            at.line(f"if {at.v} is not None: {self.miss()}")
        if at.prefix:
            at.line(f"buf.append({_literal(at.prefix)})")

    def emit_boolean(self, node: _Node, at: _At) -> None:
        at.line(f"if {at.v} is True: buf.append({_literal(at.prefix + _ONE)})")
        at.line(f"elif {at.v} is False: buf.append({_literal(at.prefix + _NUL)})")
        at.line(f"else: {self.miss()}")

    def emit_int(self, node: _Node, at: _At) -> None:
        if node.logical == "date":
            self.emit_temporal(node, at, _Cat.DATE, "{v}.toordinal() - " + str(_DAYS_SHIFT))
        elif node.logical == "time-millis":
            millis = "(({v}.hour * 60 + {v}.minute) * 60 + {v}.second) * 1000"
            self.emit_temporal(node, at, _Cat.TIME, millis + " + {v}.microsecond // 1000")
        else:
            self.check_int("int", at)
            self.put_int(at, at.v)

    def emit_long(self, node: _Node, at: _At) -> None:
        if node.logical is None:
            self.check_int("long", at)
            self.put_int(at, at.v)
        elif node.logical == "time-micros":
            micros = "(({v}.hour * 60 + {v}.minute) * 60 + {v}.second) * 1000000 + {v}.microsecond"
            self.emit_temporal(node, at, _Cat.TIME, micros)
        else:
            self.emit_timestamp(node, at)

    def emit_timestamp(self, node: _Node, at: _At) -> None:
        """timestamp-*: an aware UTC datetime (local-timestamp-*: naive) or an epoch int."""
        assert node.logical is not None
        local = node.logical.startswith("local-")
        epoch = self.bind(_EPOCH_NAIVE if local else _EPOCH)
        unit = self.bind(_MILLI if node.logical.endswith("millis") else _MICRO)
        zone = "None" if local else self.bind(UTC)
        n, v = self.fresh("n"), at.v
        if at.known is _Cat.INT:
            self.put_int(at, v)
            return
        extra = 0
        if at.known is not _Cat.DATETIME:
            at.line(f"if type({v}) is {self.bind(datetime)}:")
            extra = 1
        at.line(f"if {v}.tzinfo is not {zone}: {self.miss()}", extra)
        # Floor division, as fastavro; datetime's whole range fits a long.
        at.line(f"{n} = ({v} - {epoch}) // {unit}", extra)
        self.put(at, f"{self.bind(_uvarint)}(({n} << 1) ^ ({n} >> 63))", extra)
        if extra:
            at.line(f"elif type({v}) is int:")
            self.put_int(at, v, 1)
            at.line(f"else: {self.miss()}")

    def emit_temporal(self, node: _Node, at: _At, cat: _Cat, formula: str) -> None:
        """date / time-*: from a ``cat`` object via ``formula``, or an int in range."""
        n, v = self.fresh("n"), at.v
        if at.known is _Cat.INT:
            self.check_int(node.kind, at)
            self.put_int(at, v)
            return
        extra = 0
        if at.known is not cat:
            at.line(f"if type({v}) is {self.bind(_TYPES[cat])}:")
            extra = 1
        at.line(f"{n} = {formula.format(v=v)}", extra)
        self.put_int(at, n, extra)
        if extra:
            at.line("else:")
            self.check_int(node.kind, at, 1)
            self.put_int(at, v, 1)

    def emit_float(self, node: _Node, at: _At) -> None:
        # Only float: fastavro converts ints, bools, Decimals, strings (the fallback does).
        self.check_type(at, _Cat.FLOAT)
        self.put(at, f"{self.bind(struct.Struct('<f').pack)}({at.v})")  # float32 overflow: miss

    def emit_double(self, node: _Node, at: _At) -> None:
        self.check_type(at, _Cat.FLOAT)
        self.put(at, f"{self.bind(struct.Struct('<d').pack)}({at.v})")

    def emit_bytes(self, node: _Node, at: _At) -> None:
        if node.logical == "decimal":
            self.emit_decimal(node, at)
            return
        self.check_type(at, _Cat.BYTES)
        self.put_sized(at, at.v)

    def emit_string(self, node: _Node, at: _At) -> None:
        # str.encode(v) raises TypeError unless v is a str (a subclass encodes as in fastavro).
        data = self.fresh("b")
        at.line(f"{data} = {self.bind(str.encode)}({at.v})")
        self.put_sized(at, data)

    def emit_decimal(self, node: _Node, at: _At) -> None:
        """Exactly the schema's scale: the unscaled int's two's complement, as fastavro writes it.

        The context holds the precision: more digits raise (Rounded) and fastavro
        reports them. Other scales are left to fastavro (it rescales or rejects).
        """
        quantum = self.bind(Decimal(1).scaleb(-node.scale))
        traps = [Rounded, Inexact, InvalidOperation]
        context = Context(prec=node.precision, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=traps)
        n, data, v = self.fresh("n"), self.fresh("b"), at.v
        test = f"not {v}.same_quantum({quantum})"
        if at.known is not _Cat.DECIMAL:
            test = f"type({v}) is not {self.bind(Decimal)} or {test}"
        at.line(f"if {test}: {self.miss()}")
        at.line(f"{n} = int({v}.scaleb({node.scale}, {self.bind(context)}))")
        if node.kind == "fixed":
            # fastavro writes a negative zero as ...fffe (a quirk): leave it to fastavro.
            at.line(f"if not {n} and {v}.is_signed(): {self.miss()}")
            at.line(f"{data} = {n}.to_bytes({node.size}, 'big', signed=True)")
            self.put(at, data)
        else:
            # fastavro's length, (bit_length + 8) // 8, is not minimal for -2**(8k-1).
            at.line(f"{data} = {n}.to_bytes(({n}.bit_length() + 8) >> 3, 'big', signed=True)")
            self.put_sized(at, data)

    # named and complex types

    def emit_fixed(self, node: _Node, at: _At) -> None:
        if node.logical == "decimal":
            self.emit_decimal(node, at)
            return
        self.check_type(at, _Cat.BYTES)
        at.line(f"if len({at.v}) != {node.size}: {self.miss()}")
        self.put(at, at.v)

    def emit_enum(self, node: _Node, at: _At) -> None:
        # symbol -> prefix + index; anything else raises KeyError: a miss.
        table = {symbol: at.prefix + encode_long(i) for i, symbol in enumerate(node.symbols)}
        self.check_type(at, _Cat.STR)
        at.line(f"buf.append({self.bind(table)}[{at.v}])")

    def emit_array(self, node: _Node, at: _At) -> None:
        assert node.items is not None
        item = self.fresh("v")
        self.check_type(at, _Cat.LIST)
        self.open_block(at)
        at.line(f"for {item} in {at.v}:", 1)
        self.emit(node.items, at.inner(item, extra=2))
        self.close_block(at)

    def emit_map(self, node: _Node, at: _At) -> None:
        assert node.items is not None
        key, value, data = self.fresh("k"), self.fresh("v"), self.fresh("b")
        self.check_type(at, _Cat.DICT)
        self.open_block(at)
        at.line(f"for {key}, {value} in {at.v}.items():", 1)
        at.line(f"{data} = {self.bind(str.encode)}({key})", 2)
        self.put_sized(at.inner(extra=0), data, 2)
        self.emit(node.items, at.inner(value, extra=2))
        self.close_block(at)

    def open_block(self, at: _At) -> None:
        """fastavro's blocks: one block (count, items) then 0; an empty one is just 0."""
        size = self.fresh("n")
        at.line(f"{size} = len({at.v})")
        at.line(f"if {size}:")
        self.put_length(at, size, 1)

    def close_block(self, at: _At) -> None:
        at.line(f"buf.append({_literal(_NUL)})", 1)
        at.line("else:")
        at.line(f"buf.append({_literal(at.prefix + _NUL)})", 1)

    def emit_record(self, node: _Node, at: _At) -> None:
        # Exactly dict: a Mapping's [] may differ from the .get fastavro uses (defaultdict
        # would even insert into the caller's datum).
        self.check_type(at, _Cat.DICT)
        if at.in_union:
            # fastavro's union validation rejects a dict naming another type in "-type".
            at.line(f"if {self.bind('-type')} in {at.v}: {self.miss()}")
        if at.prefix:
            at.line(f"buf.append({_literal(at.prefix)})")
        for name, child in node.fields:
            x = self.fresh("v")
            at.line(f"{x} = {at.v}[{self.bind(name)}]")
            self.emit(child, at.inner(x, extra=0))

    # unions: dispatch on the exact type, then fastavro's branch choice for it

    def emit_union(self, node: _Node, at: _At) -> None:
        assert not at.prefix  # a union never directly contains a union
        live = {
            cat: chain
            for cat in _Cat
            if (chain := _chain(node, cat)) and chain[0][1] is not _V.UNSURE
        }
        none = live.pop(_Cat.NONE, None)
        if none is not None:
            at.line(f"if {at.v} is None:")
            self.emit_chain(node, none, at.inner(known=_Cat.NONE))
            at.line("else:")
            at = at.inner()
        if not live:
            at.line(self.miss())
            return
        if len(live) == 1:
            ((_, chain),) = live.items()
            index, verdict = chain[0]
            if verdict is _V.ACCEPT:
                # Only one type can get past the dispatch: the branch's own checks suffice.
                self.emit(
                    node.branches[index], _At(at.v, encode_long(index), at.out, at.indent, True)
                )
                return
        kind = self.fresh("t")
        at.line(f"{kind} = type({at.v})")
        keyword = "if"
        for cat, chain in live.items():
            at.line(f"{keyword} {kind} is {self.bind(_TYPES[cat])}:")
            self.emit_chain(node, chain, at.inner(known=cat))
            keyword = "elif"
        at.line(f"else: {self.miss()}")

    def emit_chain(self, union: _Node, chain: list[tuple[int, _V]], at: _At) -> None:
        for index, verdict in chain:
            branch = union.branches[index]
            here = _At(at.v, encode_long(index), at.out, at.indent, True, at.known)
            if verdict is _V.UNSURE:
                at.line(self.miss())
                return
            if verdict is _V.ACCEPT:
                self.emit(branch, here)
                return
            at.line(f"if {self.maybe_test(branch, at.v)}:")
            self.emit(branch, here.inner(prefix=here.prefix, known=at.known))
            at.line("else:")
            at = at.inner(known=at.known)
        at.line(self.miss())

    def maybe_test(self, branch: _Node, v: str) -> str:
        if branch.kind == "enum":
            return f"{v} in {self.bind(frozenset(branch.symbols))}"
        if branch.kind == "fixed":
            return f"len({v}) == {branch.size}"
        low, high = INT_RANGES["int" if branch.kind == "int" else "long"]
        return f"{low} <= {v} <= {high}"


# -- compiled writers, cached per schema -------------------------------------------------------


@dataclass(frozen=True)
class CompiledWriter:
    """The generated code of one schema; ``bind`` makes an encoder with a fallback."""

    source: str
    factory: Callable[..., Writer]
    constants: tuple[Any, ...]
    root: _Node

    def bind(self, fallback: Fallback) -> Writer:
        """The encoder: generated fast path, ``fallback(datum, exc)`` when it bails out."""
        return self.factory(*self.constants, fallback)


_COMPILED: dict[str, CompiledWriter] = {}


def compile_writer(schema: Any) -> CompiledWriter:
    """Generate and compile the writer of ``schema`` (decoded Avro JSON or JSON text); cached."""
    decoded = as_schema_json(schema)
    key = content_digest(decoded)
    compiled = _COMPILED.get(key)
    if compiled is None:
        check_schema(decoded)
        root = _Parser().parse(decoded, None)
        generator = _Generator()
        source = generator.module(root)
        namespace: dict[str, Any] = {"__builtins__": _BUILTINS}
        exec(compile(source, "<generated avro writer>", "exec"), namespace)
        compiled = CompiledWriter(
            source, namespace["_factory"], tuple(generator.params.values()), root
        )
        if len(_COMPILED) >= _CACHE_LIMIT:
            _COMPILED.clear()
        _COMPILED[key] = compiled
    return compiled


# The generated code only needs these builtins (no import, eval, open, getattr, ...).
_BUILTINS: Final = {
    "bytes": bytes,
    "int": int,
    "len": len,
    "type": type,
    "Exception": Exception,
    "IndexError": IndexError,
}


def writer_source(schema: Any) -> str:
    """The generated Python source for ``schema`` (for reading and debugging)."""
    return compile_writer(schema).source


def fastavro_body(parsed: Any, datum: Any) -> bytes:
    """fastavro's ``schemaless_writer`` bytes (the reference, and the fallback)."""
    from io import BytesIO

    from fastavro import schemaless_writer

    buffer = BytesIO()
    schemaless_writer(buffer, parsed, datum)
    return buffer.getvalue()


def writer_for(schema: Any, *, location: Location | None = None) -> Writer:
    """An encoder for ``schema``: generated, falling back to fastavro (see the module doc).

    Raises CodecError (naming where the datum leaves datum form) when fastavro
    cannot write the datum either.
    """
    decoded = as_schema_json(schema)
    compiled = compile_writer(decoded)
    where = location or Location()
    parsed: list[Any] = []

    def fallback(datum: Any, exc: Exception) -> bytes:
        if not parsed:
            from martech_bus.schema.avro import parse_schema

            parsed.append(parse_schema(decoded))
        return _fastavro_or_error(parsed[0], compiled.root, datum, where, "")

    return compiled.bind(fallback)


def generated_encoder(entry: RegisteredSchema) -> Callable[[Mapping[str, Any]], bytes]:
    """``AvroCodec.make_encoder``: the generated encoder of one registry entry."""
    compiled = compile_writer(entry.schema)
    where = Location(schema=entry.subject, version=entry.version)
    context = f" (schema id {entry.schema_id})"

    def fallback(datum: Any, exc: Exception) -> bytes:
        return _fastavro_or_error(entry.parsed, compiled.root, datum, where, context)

    return compiled.bind(fallback)


def _fastavro_or_error(
    parsed: Any, root: _Node, datum: Any, where: Location, context: str
) -> bytes:
    try:
        return fastavro_body(parsed, datum)
    except Exception as exc:
        found = diagnose(root, datum)
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if found:
            spots = "; ".join(f"{path or '<datum>'}: {reason}" for path, reason in found)
            message = f"cannot encode{context}: not in datum form: {spots} (fastavro: {detail})"
            first = found[0][0] or None
        else:
            message, first = f"cannot encode{context}: {detail}", None
        location = Location(file=where.file, schema=where.schema, version=where.version, path=first)
        raise CodecError(message, location=location) from exc


# -- diagnostics: where a datum leaves datum form ----------------------------------------------


def diagnose(root: _Node, datum: Any, *, limit: int = 3) -> list[tuple[str, str]]:
    """Up to ``limit`` (path, reason) pairs where ``datum`` is not what the fast path writes."""
    found: list[tuple[str, str]] = []
    for spot in _walk(root, datum, ""):
        found.append(spot)
        if len(found) >= limit:
            break
    return found


def _got(value: Any) -> str:
    text = repr(value)
    return f"got {type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _walk(node: _Node, value: Any, path: str) -> Iterator[tuple[str, str]]:
    if node.opaque:
        return  # fastavro's logical writer decides what fits
    kind = node.kind
    expected = f"expected {node.label()}, {_got(value)}"
    if kind == "union":
        yield from _walk_union(node, value, path)
    elif kind == "record":
        if not isinstance(value, Mapping):
            yield path, expected
            return
        for name, child in node.fields:
            here = f"{path}.{name}" if path else name
            if name not in value:
                yield here, f"missing field {name!r} ({child.label()})"
            else:
                yield from _walk(child, value[name], here)
    elif kind == "array":
        assert node.items is not None
        if type(value) is not list:
            yield path, expected
            return
        for i, item in enumerate(value):
            yield from _walk(node.items, item, f"{path}[{i}]")
    elif kind == "map":
        assert node.items is not None
        if type(value) is not dict:
            yield path, expected
            return
        for key, item in value.items():
            if type(key) is not str:
                yield path, f"map keys must be str, {_got(key)}"
            else:
                yield from _walk(node.items, item, f"{path}[{key!r}]")
    elif not _fits(node, value):
        yield path, expected


def _walk_union(node: _Node, value: Any, path: str) -> Iterator[tuple[str, str]]:
    cat = next((c for c, t in _TYPES.items() if type(value) is t), None)
    if cat is None:
        yield path, f"expected {node.label()}, {_got(value)}"
        return
    for index, verdict in _chain(node, cat):
        branch = node.branches[index]
        if verdict is _V.UNSURE:
            return  # fastavro decides (and reported what it thinks)
        if verdict is _V.ACCEPT or _maybe_holds(branch, value):
            yield from _walk(branch, value, path)
            return
    yield path, f"expected {node.label()}, {_got(value)}"


def _fits(node: _Node, value: Any) -> bool:
    """Whether the fast path writes ``value`` at a leaf ``node``."""
    kind, logical, t = node.kind, node.logical, type(value)
    if logical == "decimal":
        if t is not Decimal or not value.same_quantum(Decimal(1).scaleb(-node.scale)):
            return False
        return len(value.as_tuple().digits) <= node.precision
    if logical in _LONG_LOGICAL:
        if t is datetime:
            return value.tzinfo is (None if logical.startswith("local-") else UTC)
        return t is int and _LONG_MIN <= value <= _LONG_MAX
    if logical in ("date", "time-millis", "time-micros"):
        if t is (date if logical == "date" else time):
            return True
        low, high = INT_RANGES[kind]
        return t is int and low <= value <= high
    if kind in ("int", "long"):
        low, high = INT_RANGES[kind]
        return t is int and low <= value <= high
    checks: dict[str, Callable[[Any], bool]] = {
        "null": lambda x: x is None,
        "boolean": lambda x: x is True or x is False,
        "float": lambda x: type(x) is float,
        "double": lambda x: type(x) is float,
        "bytes": lambda x: type(x) is bytes,
        "string": lambda x: isinstance(x, str),
        "enum": lambda x: type(x) is str and x in node.symbols,
        "fixed": lambda x: type(x) is bytes and len(x) == node.size,
    }
    return checks[kind](value)


__all__ = [
    "LOGICAL_TYPES",
    "CompiledWriter",
    "Fallback",
    "Writer",
    "compile_writer",
    "diagnose",
    "encode_long",
    "fastavro_body",
    "generated_encoder",
    "writer_for",
    "writer_source",
]
