"""Avro schema compatibility: can one schema read data written with another?

``check_compatibility`` walks a reader/writer pair by the Avro 1.11 "Schema
Resolution" rules and reports every problem with its location; ``check_mode``
applies a registry compatibility mode (BACKWARD, FORWARD, FULL and their
transitive forms) to a new version and its history. On top of the spec, a
change of logical type is breaking even when the physical types resolve:
readers would silently get wrong values (REFERENCE.md, "Avro and schema
registries").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from martech_bus.errors import Location, SchemaError
from martech_bus.schema.modes import CompatibilityMode

#: An Avro schema as JSON text, or as an already-parsed JSON value.
AvroSchema: TypeAlias = str | dict[str, Any] | list[Any]


_NEW_READS_OLD = frozenset(
    {
        CompatibilityMode.BACKWARD,
        CompatibilityMode.BACKWARD_TRANSITIVE,
        CompatibilityMode.FULL,
        CompatibilityMode.FULL_TRANSITIVE,
    }
)
_OLD_READS_NEW = frozenset(
    {
        CompatibilityMode.FORWARD,
        CompatibilityMode.FORWARD_TRANSITIVE,
        CompatibilityMode.FULL,
        CompatibilityMode.FULL_TRANSITIVE,
    }
)
_TRANSITIVE = frozenset(
    {
        CompatibilityMode.BACKWARD_TRANSITIVE,
        CompatibilityMode.FORWARD_TRANSITIVE,
        CompatibilityMode.FULL_TRANSITIVE,
    }
)


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    """The verdict and, when incompatible, one message per problem found."""

    compatible: bool
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.compatible


def check_compatibility(reader: AvroSchema, writer: AvroSchema) -> CompatibilityResult:
    """Can ``reader`` read data written with ``writer``? (Avro spec schema resolution)"""
    messages = _problems(_parse(reader, "reader schema"), _parse(writer, "writer schema"))
    return CompatibilityResult(not messages, messages)


def check_mode(
    new: AvroSchema,
    previous: Sequence[AvroSchema],
    mode: CompatibilityMode | str,
) -> CompatibilityResult:
    """Is ``new`` acceptable as the next version after ``previous`` (oldest first) under ``mode``?

    Versions in messages are 1-based positions in ``previous``; ``new`` is
    ``len(previous) + 1``.
    """
    if isinstance(previous, str):
        raise TypeError("previous must be a sequence of schemas, not one schema")
    mode = CompatibilityMode.parse(mode)
    new_version = len(previous) + 1
    new_node = _parse(new, "schema", new_version)
    if mode is CompatibilityMode.NONE or not previous:
        return CompatibilityResult(True, [])
    first = 0 if mode in _TRANSITIVE else len(previous) - 1
    messages: list[str] = []
    for version, schema in enumerate(previous[first:], start=first + 1):
        old_node = _parse(schema, "schema", version)
        if mode in _NEW_READS_OLD:
            messages += _direction(new_node, new_version, old_node, version, mode)
        if mode in _OLD_READS_NEW:
            messages += _direction(old_node, version, new_node, new_version, mode)
    return CompatibilityResult(not messages, messages)


def _direction(
    reader: _Node, reader_version: int, writer: _Node, writer_version: int, mode: str
) -> list[str]:
    prefix = f"v{reader_version} cannot read data written with v{writer_version} ({mode})"
    return [f"{prefix}: {message}" for message in _problems(reader, writer)]


def _problems(reader: _Node, writer: _Node) -> list[str]:
    root = _root_label(reader, writer)
    return [
        f"at {root}{''.join(issue.path)}: {issue.rule}"
        for issue in _Resolver().resolve(reader, writer)
    ]


# --- parsed schema model --------------------------------------------------------------------
# Schemas become small node objects; a reference to a named type *is* the node that defined
# it, so recursive schemas are cyclic graphs and identity tells two definitions apart.

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

#: Writer type -> reader types it may be promoted to.
_PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}

#: Known logical types -> the physical types they may annotate (Avro 1.11, plus 1.12 nanos).
_LOGICAL_TYPES: dict[str, frozenset[str]] = {
    "decimal": frozenset({"bytes", "fixed"}),
    "uuid": frozenset({"string", "fixed"}),
    "date": frozenset({"int"}),
    "time-millis": frozenset({"int"}),
    "time-micros": frozenset({"long"}),
    "timestamp-millis": frozenset({"long"}),
    "timestamp-micros": frozenset({"long"}),
    "timestamp-nanos": frozenset({"long"}),
    "local-timestamp-millis": frozenset({"long"}),
    "local-timestamp-micros": frozenset({"long"}),
    "local-timestamp-nanos": frozenset({"long"}),
    "duration": frozenset({"fixed"}),
}


@dataclass(frozen=True, slots=True)
class _Logical:
    name: str
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, eq=False, slots=True)
class _Primitive:
    type: str
    logical: _Logical | None = None


@dataclass(frozen=True, eq=False, slots=True)
class _Field:
    name: str
    aliases: tuple[str, ...]
    type: _Node
    has_default: bool


@dataclass(frozen=True, eq=False, slots=True)
class _Record:
    name: str
    aliases: tuple[str, ...]
    fields: list[_Field] = field(default_factory=list)  # filled after registration: recursion


@dataclass(frozen=True, eq=False, slots=True)
class _Enum:
    name: str
    aliases: tuple[str, ...]
    symbols: tuple[str, ...]
    default: str | None


@dataclass(frozen=True, eq=False, slots=True)
class _Fixed:
    name: str
    aliases: tuple[str, ...]
    size: int
    logical: _Logical | None


@dataclass(frozen=True, eq=False, slots=True)
class _Array:
    items: _Node


@dataclass(frozen=True, eq=False, slots=True)
class _Map:
    values: _Node


@dataclass(frozen=True, eq=False, slots=True)
class _Union:
    branches: tuple[_Node, ...]


_Named: TypeAlias = _Record | _Enum | _Fixed
_Node: TypeAlias = _Primitive | _Named | _Array | _Map | _Union


def _parse(schema: AvroSchema, role: str, version: int | None = None) -> _Node:
    """Validate ``schema`` (with fastavro) and build its node graph; SchemaError when invalid."""
    try:
        value = _load(schema)
        fastavro.parse_schema(value)
        return _Builder().build(value, namespace="")
    except (SchemaParseException, KeyError, TypeError, ValueError) as exc:
        location = Location(version=version)
        raise SchemaError(f"invalid {role}: {_explain(exc)}", location=location) from exc


def _explain(exc: Exception) -> str:
    # fastavro reports some malformed schemas only through builtin errors: say what they mean.
    match exc:
        case json.JSONDecodeError():
            return f"not valid JSON ({exc})"
        case UnknownType():
            return f"unknown type {exc.name!r}"
        case KeyError():
            return f"missing attribute {exc.args[0]!r}"
        case SchemaError():
            return exc.message
    return str(exc)


def _load(schema: AvroSchema) -> Any:
    if isinstance(schema, str):
        text = schema.strip()
        # A bare type name is a schema too (and "null" must not become JSON null).
        value = text if _NAME.fullmatch(text) else json.loads(text)
    else:
        value = schema
    if not isinstance(value, str | dict | list):
        kind = type(value).__name__
        raise SchemaError(f"an Avro schema is a JSON object, array or type name, not {kind}")
    return value


def _short(name: str) -> str:
    return name.rpartition(".")[2]


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SchemaError(f"{what} must be a list of strings, got {value!r}")
    return tuple(value)


def _logical(schema: dict[str, Any], physical: str) -> _Logical | None:
    """The logical type that changes how values are read, or None."""
    name = schema.get("logicalType")
    # Unknown or misplaced logical types fall back to the physical type (spec), and a uuid
    # is read as the same string or bytes either way.
    if not isinstance(name, str) or physical not in _LOGICAL_TYPES.get(name, ()):
        return None
    if name == "uuid":
        return None
    if name == "decimal":
        precision, scale = schema.get("precision"), schema.get("scale", 0)
        valid = type(precision) is int and type(scale) is int and 0 <= scale <= precision
        return _Logical(name, precision, scale) if valid else None
    return _Logical(name)


class _Builder:
    """Turns one schema's JSON into nodes, resolving names by the namespace rules."""

    def __init__(self) -> None:
        self._named: dict[str, _Named] = {}

    def build(self, schema: Any, namespace: str) -> _Node:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            return self._union(schema, namespace)
        if not isinstance(schema, dict):
            raise SchemaError(f"not an Avro schema: {schema!r}")
        kind = schema.get("type")
        if kind in _PRIMITIVES:
            return _Primitive(kind, _logical(schema, kind))
        if kind == "array":
            return _Array(self.build(schema["items"], namespace))
        if kind == "map":
            return _Map(self.build(schema["values"], namespace))
        if kind in ("record", "error", "enum", "fixed"):
            return self._named_type(schema, kind, namespace)
        raise SchemaError(f"unknown type {kind!r}")

    def _reference(self, name: str, namespace: str) -> _Node:
        if name in _PRIMITIVES:
            return _Primitive(name)
        fullname = f"{namespace}.{name}" if namespace and "." not in name else name
        try:
            return self._named[fullname]
        except KeyError:
            raise SchemaError(f"unknown type {name!r} (looked up as {fullname!r})") from None

    def _union(self, branches: list[Any], namespace: str) -> _Union:
        nodes = tuple(self.build(branch, namespace) for branch in branches)
        if any(isinstance(node, _Union) for node in nodes):
            raise SchemaError("a union may not immediately contain another union")
        # Named branches are told apart by full name, the others by type.
        keys = [node.name if isinstance(node, _Named) else _label(node) for node in nodes]
        if len(set(keys)) != len(keys):
            raise SchemaError(f"a union may not hold two branches of the same type: {keys}")
        return _Union(nodes)

    def _named_type(self, schema: dict[str, Any], kind: str, namespace: str) -> _Named:
        name = schema["name"]
        if "." in name:
            fullname = name
            namespace = name.rpartition(".")[0]
        else:
            namespace = schema.get("namespace", namespace) or ""
            fullname = f"{namespace}.{name}" if namespace else name
        if fullname in self._named:
            raise SchemaError(f"named type {fullname!r} is defined twice")
        aliases = tuple(_short(alias) for alias in _strings(schema.get("aliases", []), "aliases"))
        node: _Named
        if kind == "enum":
            symbols = _strings(schema["symbols"], f"enum {name} symbols")
            node = _Enum(fullname, aliases, symbols, schema.get("default"))
        elif kind == "fixed":
            node = _Fixed(fullname, aliases, schema["size"], _logical(schema, "fixed"))
        else:
            node = _Record(fullname, aliases)
        # Registered before its fields are built so that the record can refer to itself.
        self._named[fullname] = node
        if isinstance(node, _Record):
            for spec in schema["fields"]:
                node.fields.append(self._field(spec, namespace))
            names = [f.name for f in node.fields]
            if len(set(names)) != len(names):
                raise SchemaError(f"record {fullname} has duplicate field names: {names}")
        return node

    def _field(self, spec: dict[str, Any], namespace: str) -> _Field:
        aliases = _strings(spec.get("aliases", []), f"aliases of field {spec['name']!r}")
        return _Field(spec["name"], aliases, self.build(spec["type"], namespace), "default" in spec)


# --- resolution --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Issue:
    path: tuple[str, ...]  # segments relative to the pair checked: ".field", "[]", "{}", "<x>"
    rule: str


def _prefixed(segment: str, issues: Sequence[_Issue]) -> tuple[_Issue, ...]:
    return tuple(_Issue((segment, *issue.path), issue.rule) for issue in issues)


def _label(node: _Node) -> str:
    """A short name for a node: the type, or the unqualified name of a named type."""
    match node:
        case _Primitive():
            return node.type
        case _Record() | _Enum() | _Fixed():
            return _short(node.name)
        case _Array():
            return "array"
        case _Map():
            return "map"
        case _Union():
            return "union"


def _describe(node: _Node) -> str:
    match node:
        case _Record():
            return f"record {_short(node.name)}"
        case _Enum():
            return f"enum {_short(node.name)}"
        case _Fixed():
            return f"fixed {_short(node.name)}"
        case _Union():
            return f"union [{', '.join(_label(branch) for branch in node.branches)}]"
        case _:
            return _label(node)


def _root_label(reader: _Node, writer: _Node) -> str:
    for node in (reader, writer):
        if isinstance(node, _Named):
            return _short(node.name)
    return _label(reader)


def _names_match(reader: _Named, writer: _Named) -> bool:
    return _short(writer.name) in (_short(reader.name), *reader.aliases)


def _matches(reader: _Node, writer: _Node) -> bool:
    """The spec's shallow "match", used to pick a reader union branch for a writer type."""
    match reader, writer:
        case _Primitive(), _Primitive():
            return reader.type == writer.type or reader.type in _PROMOTIONS.get(writer.type, ())
        case _Record(), _Record():
            return _names_match(reader, writer)
        case _Enum(), _Enum():
            return _names_match(reader, writer)
        case _Fixed(), _Fixed():
            return _names_match(reader, writer) and reader.size == writer.size
        case (_Array(), _Array()) | (_Map(), _Map()):
            return True
    return False


def _logical_issues(reader: _Primitive | _Fixed, writer: _Primitive | _Fixed) -> list[str]:
    """Rules broken by reading ``writer``'s logical type as ``reader``'s."""
    old, new = writer.logical, reader.logical
    if new is None:
        return [] if old is None else [f"logical type {old.name} removed from {_physical(writer)}"]
    if old is None:
        return [f"logical type {new.name} added to {_physical(reader)}"]
    if old.name != new.name:
        return [f"logical type changed from {old.name} to {new.name}"]
    return [
        f"decimal {attribute} changed from {before} to {after}"
        for attribute, before, after in (
            ("precision", old.precision, new.precision),
            ("scale", old.scale, new.scale),
        )
        if before != after
    ]


def _physical(node: _Primitive | _Fixed) -> str:
    return node.type if isinstance(node, _Primitive) else "fixed"


class _Resolver:
    """One reader/writer walk; records are memoized by node pair to survive recursion."""

    def __init__(self) -> None:
        self._done: dict[tuple[_Record, _Record], tuple[_Issue, ...]] = {}
        self._active: set[tuple[_Record, _Record]] = set()

    def resolve(self, reader: _Node, writer: _Node) -> tuple[_Issue, ...]:
        """Every problem reading ``writer`` data with ``reader``, paths relative to this pair."""
        if isinstance(writer, _Union):
            return self._writer_union(reader, writer)
        if isinstance(reader, _Union):
            return self._reader_union(reader, writer)
        match reader, writer:
            case _Primitive(), _Primitive():
                return _primitives(reader, writer)
            case _Record(), _Record():
                return _name_mismatch(reader, writer) or self._memoized_records(reader, writer)
            case _Enum(), _Enum():
                return _name_mismatch(reader, writer) or _enums(reader, writer)
            case _Fixed(), _Fixed():
                return _name_mismatch(reader, writer) or _fixed(reader, writer)
            case _Array(), _Array():
                return _prefixed("[]", self.resolve(reader.items, writer.items))
            case _Map(), _Map():
                return _prefixed("{}", self.resolve(reader.values, writer.values))
        return _here(f"{_describe(writer)} cannot be read as {_describe(reader)}")

    def _writer_union(self, reader: _Node, writer: _Union) -> tuple[_Issue, ...]:
        # Any writer branch may occur in the data, so every one must be readable.
        return tuple(
            issue
            for branch in writer.branches
            for issue in _prefixed(f"<{_label(branch)}>", self.resolve(reader, branch))
        )

    def _reader_union(self, reader: _Union, writer: _Node) -> tuple[_Issue, ...]:
        # The spec resolves against the *first* matching branch, not the best one.
        for branch in reader.branches:
            if _matches(branch, writer):
                return self.resolve(branch, writer)
        return _here(f"{_describe(writer)} matches no branch of reader {_describe(reader)}")

    def _memoized_records(self, reader: _Record, writer: _Record) -> tuple[_Issue, ...]:
        key = (reader, writer)
        if key in self._done:
            return self._done[key]
        if key in self._active:
            # Recursive type: assume compatible; a real problem is reported where the cycle began.
            return ()
        self._active.add(key)
        try:
            issues = self._records(reader, writer)
        finally:
            self._active.discard(key)
        self._done[key] = issues
        return issues

    def _records(self, reader: _Record, writer: _Record) -> tuple[_Issue, ...]:
        by_name = {f.name: f for f in writer.fields}
        # An alias only claims a writer field that no reader field reads under its own name.
        unclaimed = by_name.keys() - {f.name for f in reader.fields}
        issues: list[_Issue] = []
        for reader_field in reader.fields:
            source = by_name.get(reader_field.name) or next(
                (by_name[alias] for alias in reader_field.aliases if alias in unclaimed), None
            )
            segment = f".{reader_field.name}"
            if source is not None:
                issues += _prefixed(segment, self.resolve(reader_field.type, source.type))
            elif not reader_field.has_default:
                rule = f"reader field '{reader_field.name}' has no default"
                issues.append(_Issue((segment,), f"{rule} and is missing from the writer"))
        return tuple(issues)


def _here(*rules: str) -> tuple[_Issue, ...]:
    return tuple(_Issue((), rule) for rule in rules)


def _name_mismatch(reader: _Named, writer: _Named) -> tuple[_Issue, ...]:
    if _names_match(reader, writer):
        return ()
    return _here(
        f"{_describe(writer)} does not match reader {_describe(reader)} "
        "(different name and no matching reader alias)"
    )


def _primitives(reader: _Primitive, writer: _Primitive) -> tuple[_Issue, ...]:
    if not _matches(reader, writer):
        return _here(f"{writer.type} cannot be promoted to {reader.type}")
    return _here(*_logical_issues(reader, writer))


def _enums(reader: _Enum, writer: _Enum) -> tuple[_Issue, ...]:
    if reader.default is not None:
        return ()
    name = _short(reader.name)
    return _here(
        *(
            f"writer enum symbol '{symbol}' unknown to reader enum {name}, which has no default"
            for symbol in writer.symbols
            if symbol not in reader.symbols
        )
    )


def _fixed(reader: _Fixed, writer: _Fixed) -> tuple[_Issue, ...]:
    if reader.size != writer.size:
        return _here(
            f"fixed {_short(reader.name)} size changed from {writer.size} to {reader.size}"
        )
    return _here(*_logical_issues(reader, writer))


__all__ = [
    "AvroSchema",
    "CompatibilityMode",
    "CompatibilityResult",
    "check_compatibility",
    "check_mode",
]
