"""Static checks of a mapping file: against the canonical schemas and the vendor's payload schema.

``check_mapping`` walks the spec once per schema version the mapping accepts, with
the static type of every value: each path must exist in the Avro schema (records,
``["null", X]`` unions, arrays for ``[0]``/``[*]``, maps with any key), ``each``
must read a list, and every transform must receive a type it accepts, tracked
through the pipeline (``split`` gives a list, ``cast: str`` text, ...). Built-in
transforms have signatures below; a user transform is "any -> any".

A path missing from only some accepted versions is reported for those versions:
as a *warning* when the field is nullable in every version that has it (the
mapping must already cope with it being absent, and an old event simply maps it
as undefined), as an *error* otherwise (the mapping may rely on the value).

``check_required_fields`` checks that a vendor payload's ``required`` properties
are produced; ``check_fixture_output`` validates a payload with ``jsonschema``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

from martech_bus.errors import ConfigError, Location, Problem
from martech_bus.mapping.hints import did_you_mean
from martech_bus.mapping.paths import STAR, PathExpr, Step, format_steps
from martech_bus.mapping.spec import (
    Coalesce,
    Conditional,
    Const,
    Each,
    ListValue,
    MappingSpec,
    ObjectValue,
    PathValue,
    Pos,
    Template,
    TransformCall,
    Value,
)

if TYPE_CHECKING:
    from martech_bus.mapping.registry import TransformRegistry
    from martech_bus.schema.registry import SchemaRegistry

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class CheckProblem(Problem):
    """A problem found by a static check; warnings do not fail a check."""

    severity: Severity = "error"

    def __str__(self) -> str:
        text = Problem.__str__(self)
        return f"warning: {text}" if self.severity == "warning" else text


def is_warning(problem: Problem) -> bool:
    """True for a warning-level problem (any other problem is an error)."""
    return isinstance(problem, CheckProblem) and problem.severity == "warning"


# -- static types -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaType:
    """The static type of a value as the datum form presents it (an Avro type, or ``any``).

    ``kind`` is an Avro primitive, a logical type (``timestamp-millis``, ``decimal``,
    ``uuid``), ``enum``/``fixed``/``record``/``array``/``map``, ``union`` (a union
    other than ``["null", X]``), ``object`` (an output object) or ``any`` (unknown).
    """

    kind: str
    nullable: bool = False
    name: str | None = None  # record/enum/fixed name; "decimal(18,4)"
    items: SchemaType | None = None  # array items, map values
    members: tuple[SchemaType, ...] = ()  # a union's non-null branches
    node: Any = field(default=None, compare=False, repr=False)  # a record's definition
    namespace: str | None = field(default=None, compare=False, repr=False)

    def describe(self) -> str:
        """The type as messages show it (``decimal(18,4)``, ``array<Product>``)."""
        if self.kind == "union":
            return " | ".join(member.describe() for member in self.members)
        if self.kind in ("array", "map") and self.items is not None:
            return f"{self.kind}<{self.items.describe()}>"
        if self.kind in ("record", "enum", "fixed") and self.name:
            return f"{self.kind} {self.name.rsplit('.', 1)[-1]}"
        return self.name or self.kind

    def optional(self) -> SchemaType:
        return self if self.nullable else replace(self, nullable=True)

    def options(self) -> tuple[SchemaType, ...]:
        """The non-null types a value may have."""
        return self.members if self.kind == "union" else (replace(self, nullable=False),)


ANY: Final = SchemaType("any")
STRING: Final = SchemaType("string")
LONG: Final = SchemaType("long")
DOUBLE: Final = SchemaType("double")
BOOLEAN: Final = SchemaType("boolean")
NULL: Final = SchemaType("null", nullable=True)
OBJECT: Final = SchemaType("object")

TEXT: Final = frozenset({"string", "uuid", "enum"})  # all str in datum form
INTEGER: Final = frozenset({"int", "long"})
NUMBER: Final = INTEGER | {"float", "double", "decimal"}
TIMESTAMP: Final = frozenset({"timestamp-millis", "timestamp-micros"})
SCALAR: Final = (
    TEXT | NUMBER | TIMESTAMP | {"boolean", "date", "time-millis", "time-micros", "null"}
)
_LOGICAL: Final[Mapping[str, tuple[str, ...]]] = {
    "string": ("uuid",),
    "int": ("date", "time-millis"),
    "long": ("timestamp-millis", "timestamp-micros", "time-micros"),
}


def union(types: Iterable[SchemaType]) -> SchemaType:
    """The type of a value that may have any of ``types``."""
    options: dict[str, SchemaType] = {}
    nullable = False
    for kind in types:
        if kind.kind == "any":
            return ANY
        nullable = nullable or kind.nullable or kind.kind == "null"
        for option in kind.options():
            if option.kind != "null":
                options.setdefault(option.describe(), option)
    if not options:
        return NULL
    if len(options) == 1:
        (only,) = options.values()
        return replace(only, nullable=nullable)
    return SchemaType("union", nullable, members=tuple(options.values()))


def const_type(value: Any) -> SchemaType:
    """The type of a constant from the mapping file."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return LONG
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, Decimal):
        return SchemaType("decimal")
    if isinstance(value, str):
        return STRING
    if isinstance(value, list | tuple):
        return SchemaType("array", items=union(map(const_type, value)) if value else ANY)
    return OBJECT


class AvroTypes:
    """Static types of one Avro schema's fields (named types resolved by full name)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.named: dict[str, Mapping[str, Any]] = {}
        self._collect(schema, None)
        self.root = self.convert(schema, None)

    def _collect(self, node: Any, namespace: str | None) -> None:
        if isinstance(node, list):
            for branch in node:
                self._collect(branch, namespace)
        elif isinstance(node, Mapping):
            kind = node.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                full = _full_name(str(node["name"]), node.get("namespace", namespace))
                self.named[full] = node
                namespace = full.rpartition(".")[0] or None
                for avro_field in node.get("fields", ()):
                    self._collect(avro_field["type"], namespace)
            else:
                for key in ("type", "items", "values"):
                    if key in node:
                        self._collect(node[key], namespace)

    def convert(self, node: Any, namespace: str | None) -> SchemaType:
        """The static type of an Avro type definition."""
        if isinstance(node, list):
            return union(self.convert(branch, namespace) for branch in node)
        if isinstance(node, str):
            named = self.named.get(_full_name(node, namespace)) or self.named.get(node)
            return self.convert(named, namespace) if named is not None else SchemaType(node)
        kind = node.get("type")
        if not isinstance(kind, str):  # {"type": [...]} or {"type": {...}}
            return self.convert(kind, namespace)
        logical = node.get("logicalType")
        if logical == "decimal" and kind in ("bytes", "fixed"):
            digits = f"decimal({node.get('precision')},{node.get('scale', 0)})"
            return SchemaType("decimal", name=digits)
        if logical in _LOGICAL.get(kind, ()):
            return SchemaType(str(logical))
        if kind in ("array", "map"):
            items = node.get("items" if kind == "array" else "values")
            return SchemaType(kind, items=self.convert(items, namespace))
        if kind in ("record", "error", "enum", "fixed"):
            full = _full_name(str(node["name"]), node.get("namespace", namespace))
            inner = full.rpartition(".")[0] or None
            kind = "record" if kind == "error" else kind
            return SchemaType(kind, name=full, node=node, namespace=inner)
        return self.convert(kind, namespace)  # a primitive or a named type in object form

    def fields(self, record: SchemaType) -> dict[str, Any]:
        """A record's fields by name (their Avro type definitions)."""
        return {f["name"]: f["type"] for f in record.node.get("fields", ())}


def _full_name(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


# -- reading a path against a schema --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A path resolved: its type, and the type each step reached (the trail)."""

    type: SchemaType
    trail: tuple[SchemaType, ...]


@dataclass(frozen=True, slots=True)
class Missing:
    """A path that cannot be read: which step failed, why, and a did-you-mean hint."""

    step: int
    reason: str
    hint: str = ""


def resolve(types: AvroTypes, base: SchemaType, steps: tuple[Step, ...]) -> Found | Missing:
    """Follow ``steps`` from ``base``; a wildcard gives a list (nested wildcards flatten)."""
    return _walk(types, base, steps, 0, ())


def _walk(
    types: AvroTypes,
    current: SchemaType,
    steps: tuple[Step, ...],
    n: int,
    trail: tuple[SchemaType, ...],
) -> Found | Missing:
    # Reading never fails at runtime: once a step may give undefined, so may the result.
    maybe_missing = any(t.nullable for t in trail)
    if n == len(steps):
        return Found(current.optional() if maybe_missing else current, trail)
    if current.kind == "any":
        return Found(ANY, trail)
    step, shown = steps[n], format_steps(steps[:n]) or "the event"
    if isinstance(step, str):
        return _key(types, current, step, steps, n, trail, shown)
    if isinstance(step, int):
        if current.kind != "array" or current.items is None:
            return Missing(n, f"{shown} is {current.describe()}, not a list: cannot read [{step}]")
        item = current.items.optional()  # an index may be out of range: undefined
        return _walk(types, item, steps, n + 1, (*trail, item))
    return _spread(types, current, steps, n, trail, shown)


def _key(
    types: AvroTypes,
    current: SchemaType,
    key: str,
    steps: tuple[Step, ...],
    n: int,
    trail: tuple[SchemaType, ...],
    shown: str,
) -> Found | Missing:
    found: list[SchemaType] = []
    names: list[str] = []
    for option in current.options():
        if option.kind == "map" and option.items is not None:
            found.append(option.items.optional())  # any key is fine, but may be absent
        elif option.kind == "record":
            fields = types.fields(option)
            names += fields
            if key in fields:
                found.append(types.convert(fields[key], option.namespace))
    if found:
        reached = union(found) if len(found) > 1 else found[0]
        return _walk(types, reached, steps, n + 1, (*trail, reached))
    if names:
        records = " or ".join(o.describe().removeprefix("record ") for o in current.options())
        return Missing(n, f"no field {key!r} in {records}", did_you_mean(key, names))
    hint = "; use [*] or [0] to read its items" if current.kind == "array" else ""
    return Missing(n, f"{shown} is {current.describe()}, not a record: cannot read {key!r}", hint)


def _spread(
    types: AvroTypes,
    current: SchemaType,
    steps: tuple[Step, ...],
    n: int,
    trail: tuple[SchemaType, ...],
    shown: str,
) -> Found | Missing:
    if current.kind != "array" or current.items is None:
        return Missing(n, f"{shown} is {current.describe()}, not a list: cannot read [*]")
    inner = _walk(types, current.items, steps, n + 1, (*trail, current.items))
    if isinstance(inner, Missing):
        return inner
    rest_spreads = any(step is STAR for step in steps[n + 1 :])
    # items whose path is undefined are left out, so the list's items are never undefined
    item = replace(inner.type, nullable=False)
    listed = inner.type if rest_spreads else SchemaType("array", items=item)
    maybe_missing = any(t.nullable for t in trail)
    return Found(listed.optional() if maybe_missing else listed, inner.trail)


# -- transform signatures -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """What a built-in transform accepts (``None``: anything) and what it returns."""

    accepts: frozenset[str] | None
    accepts_text: str
    returns: SchemaType | Callable[[SchemaType, TransformCall, MappingSpec], SchemaType]


def _same(value: SchemaType, call: TransformCall, spec: MappingSpec) -> SchemaType:
    return value


def _looked_up(value: SchemaType, call: TransformCall, spec: MappingSpec) -> SchemaType:
    table = _argument(call, 0, "table")
    default = _argument(call, 1, "default")
    entries = spec.lookups.get(table.value, {}) if isinstance(table, Const) else {}
    found = [const_type(entry) for entry in entries.values()]
    if isinstance(default, Const):
        found.append(const_type(default.value))
    return union(found) if found else ANY


_ON_TEXT: Final = Signature(TEXT, "text", STRING)
_ON_TIME: Final = Signature(
    TIMESTAMP | {"string", "long"}, "a timestamp, ISO-8601 text or epoch millis (long)", LONG
)
SIGNATURES: Final[Mapping[str, Signature]] = {
    "lower": _ON_TEXT,
    "upper": _ON_TEXT,
    "trim": _ON_TEXT,
    "truncate": _ON_TEXT,
    "replace": _ON_TEXT,
    "sha256": _ON_TEXT,
    "split": Signature(TEXT, "text", SchemaType("array", items=STRING)),
    "join": Signature(frozenset({"array"}), "a list", STRING),
    "concat": Signature(None, "anything", STRING),
    "round": Signature(NUMBER, "a number or decimal", _same),
    "minor_units": Signature(INTEGER | {"decimal"}, "a decimal or int amount", LONG),
    "to_unix_seconds": _ON_TIME,
    "to_unix_millis": _ON_TIME,
    "iso8601": replace(_ON_TIME, returns=STRING),
    "date_format": replace(_ON_TIME, returns=STRING),
    "lookup": Signature(TEXT | INTEGER, "text or an int", _looked_up),
    "json_encode": Signature(None, "anything", STRING),
}
#: ``cast`` accepts what each target type can convert without losing data.
CAST_SIGNATURES: Final[Mapping[str, Signature]] = {
    "int": Signature(NUMBER | {"string"}, "a number, decimal or integer text", LONG),
    "float": Signature(NUMBER | {"string"}, "a number, decimal or numeric text", DOUBLE),
    "str": Signature(SCALAR, "a scalar (use json_encode for lists and objects)", STRING),
    "bool": Signature(
        INTEGER | {"boolean", "string"}, "a boolean, 0/1 or true/false text", BOOLEAN
    ),
}


@cache
def _builtin_functions() -> Mapping[str, Callable[..., Any]]:
    from martech_bus.mapping.transforms import new_registry

    registry = new_registry(entry_points=False)
    return {name: tdef.func for name in registry.names() if (tdef := registry.get(name))}


def _argument(call: TransformCall, index: int, name: str) -> Value | None:
    """A call's argument as written, positional or by name."""
    if index < len(call.args):
        return call.args[index]
    return dict(call.kwargs).get(name)


def signature(call: TransformCall, registry: TransformRegistry) -> Signature | None:
    """The signature of a built-in transform; ``None`` for a user transform (any -> any)."""
    tdef = registry.get(call.name)
    if tdef is None or tdef.func is not _builtin_functions().get(call.name):
        return None
    if call.name == "cast":
        target = _argument(call, 0, "type")
        if isinstance(target, Const) and target.value in CAST_SIGNATURES:
            return CAST_SIGNATURES[target.value]
        return None
    return SIGNATURES.get(call.name)


# -- walking a mapping against one schema version -------------------------------------------


@dataclass(slots=True)
class _Read:
    """One path read of the spec, resolved in every version."""

    path: str
    output: str
    pos: Pos
    results: dict[int, Found | Missing] = field(default_factory=dict)


@dataclass(slots=True)
class _Finding:
    """A non-path problem, with the versions it occurs in."""

    message: str
    output: str
    pos: Pos
    versions: list[int] = field(default_factory=list)


class _Walk:
    """Walks the spec with static types, once per version; results merge across versions."""

    def __init__(self, spec: MappingSpec, registry: TransformRegistry) -> None:
        self.spec = spec
        self.registry = registry
        self.slots: dict[tuple[Any, ...], _Read | _Finding] = {}  # in spec order
        self.version = 0
        self.types: AvroTypes | None = None

    def run(self, version: int, schema: Mapping[str, Any]) -> None:
        self.version, self.types = version, AvroTypes(schema)
        root = self.types.root
        self.value(self.spec.output, _Scope(root, root, ()), "")

    def finding(self, message: str, output: str, pos: Pos) -> None:
        key = ("finding", message, output, pos)
        slot = self.slots.setdefault(key, _Finding(message, output, pos))
        assert isinstance(slot, _Finding)
        slot.versions.append(self.version)

    def read(self, path: PathExpr, scope: _Scope, output: str, pos: Pos) -> SchemaType | None:
        """The type at ``path``, recording where it cannot be read; ``None`` when unknown."""
        base, prefix = (scope.root, ()) if path.anchor == "root" else (scope.item, scope.prefix)
        if base is None:
            return None
        assert self.types is not None
        absolute = format_steps(prefix + path.steps) or "$"
        slot = self.slots.setdefault(("read", id(path), output), _Read(absolute, output, pos))
        assert isinstance(slot, _Read)
        result = resolve(self.types, base, path.steps)
        slot.results[self.version] = result
        return result.type if isinstance(result, Found) else None

    # -- values ------------------------------------------------------------------------------

    def value(self, value: Value, scope: _Scope, output: str) -> SchemaType:
        found, origin = self.raw(value, scope, output)
        for n, call in enumerate(value.mods.transforms):
            for arg in (*call.args, *(v for _, v in call.kwargs)):
                self.value(arg, scope, output)
            done = ", ".join(c.name for c in value.mods.transforms[:n])
            found = self.transform(
                call, found, f"{origin} after {done}" if n else origin, output, value.pos
            )
        if value.mods.has_default:
            found = union([replace(found, nullable=False), const_type(value.mods.default)])
        return found

    def raw(self, value: Value, scope: _Scope, output: str) -> tuple[SchemaType, str]:
        """The value's type before modifiers, and where it comes from (for messages)."""
        if isinstance(value, Const):
            return const_type(value.value), "a constant"
        if isinstance(value, PathValue):
            found = self.read(value.path, scope, output, value.pos)
            return found or ANY, f"path {self.shown(value.path, scope)}"
        if isinstance(value, Coalesce):
            read = [self.read(path, scope, output, value.pos) for path in value.paths]
            shown = ", ".join(self.shown(path, scope) for path in value.paths)
            return union(t or ANY for t in read), f"coalesce [{shown}]"
        if isinstance(value, Template):
            for part in value.parts:
                if isinstance(part, PathExpr):
                    self.read(part, scope, output, value.pos)
            return STRING, "a template"
        if isinstance(value, Conditional):
            self.read(value.condition.path, scope, output, value.condition.pos)
            branches = [
                NULL if branch is None else self.value(branch, scope, output)
                for branch in (value.then, value.otherwise)
            ]
            return union(branches), "a conditional"
        if isinstance(value, Each):
            return self.each(value, scope, output), f"each over {self.shown(value.source, scope)}"
        if isinstance(value, ObjectValue):
            for key, child in value.fields:
                self.value(child, scope, f"{output}.{key}" if output else key)
            return OBJECT, "an object"
        items = [self.value(item, scope, f"{output}[{n}]") for n, item in enumerate(value.items)]
        return SchemaType("array", items=union(items) if items else ANY), "a list"

    def each(self, value: Each, scope: _Scope, output: str) -> SchemaType:
        source = self.read(value.source, scope, output, value.pos)
        item: SchemaType | None = None
        if source is not None:
            lists = [t for t in source.options() if t.kind in ("array", "any")]
            if lists and len(lists) == len(source.options()):
                item = union(t.items or ANY for t in lists)
            else:
                self.finding(
                    f"'each' over {self.shown(value.source, scope)} needs a list, "
                    f"got {source.describe()}",
                    output,
                    value.pos,
                )
        base = () if value.source.anchor == "root" else scope.prefix
        inner = _Scope(scope.root, item, base + value.source.steps + (STAR,))
        return SchemaType("array", items=self.value(value.item, inner, f"{output}[*]"))

    def transform(
        self, call: TransformCall, received: SchemaType, origin: str, output: str, pos: Pos
    ) -> SchemaType:
        if self.registry.get(call.name) is None:
            self.finding(f"unknown transform {call.name!r}", output, call.pos)
            return ANY
        sig = signature(call, self.registry)
        if sig is None:
            return ANY
        refused = [
            option
            for option in received.options()  # transforms never see null
            if option.kind not in ("null", "any")
            and sig.accepts is not None
            and option.kind not in sig.accepts
        ]
        if refused:
            wrong = " | ".join(o.describe() for o in refused)
            self.finding(
                f"transform {call.name!r} would receive {wrong} (from {origin}); "
                f"it accepts {sig.accepts_text}",
                output,
                call.pos if call.pos.line is not None else pos,
            )
        returns = sig.returns
        result = returns(received, call, self.spec) if callable(returns) else returns
        return result.optional() if received.nullable else result

    @staticmethod
    def shown(path: PathExpr, scope: _Scope) -> str:
        prefix = () if path.anchor == "root" else scope.prefix
        return format_steps(prefix + path.steps) or "$"


@dataclass(frozen=True, slots=True)
class _Scope:
    """The event root's type, the current item's type (``None``: unknown) and its path."""

    root: SchemaType
    item: SchemaType | None
    prefix: tuple[Step, ...]


# -- check_mapping ---------------------------------------------------------------------------


def check_mapping(
    spec: MappingSpec,
    registry: SchemaRegistry,
    *,
    transforms: TransformRegistry | None = None,
) -> list[Problem]:
    """Every problem of ``spec`` against the canonical schemas it says it accepts."""
    if transforms is None:
        from martech_bus.mapping.transforms import REGISTRY

        transforms = REGISTRY
    problems: list[Problem] = []
    versions = _known_versions(spec, registry, problems)
    if not versions:
        return problems
    walk = _Walk(spec, transforms)
    for version, schema in versions.items():
        walk.run(version, schema)
    for slot in walk.slots.values():
        if isinstance(slot, _Read):
            problems.extend(_read_problems(spec, slot))
        else:
            problems.append(
                _problem(spec, slot.message, slot.output, slot.pos, slot.versions, "error")
            )
    return problems


def _known_versions(
    spec: MappingSpec, registry: SchemaRegistry, problems: list[Problem]
) -> dict[int, Mapping[str, Any]]:
    """The accepted versions' schemas; unknown events and versions become problems."""
    where = Location(file=spec.file, schema=spec.event)
    if spec.event not in registry.subjects():
        known = registry.subjects()
        problems.append(
            CheckProblem(
                f"unknown event {spec.event!r}{did_you_mean(spec.event, known)} "
                f"(known: {', '.join(known)})",
                replace(where, path="source.event"),
            )
        )
        return {}
    entries = {entry.version: entry.schema for entry in registry.versions(spec.event)}
    for version in spec.versions:
        if version not in entries:
            problems.append(
                CheckProblem(
                    f"schema {spec.event} has no version {version} "
                    f"(known: {', '.join(f'v{v}' for v in entries)})",
                    replace(where, path="source.versions", version=version),
                )
            )
    return {v: entries[v] for v in spec.versions if v in entries}


def _read_problems(spec: MappingSpec, read: _Read) -> Iterator[Problem]:
    missing = {v: r for v, r in read.results.items() if isinstance(r, Missing)}
    found = {v: r for v, r in read.results.items() if isinstance(r, Found)}
    groups: dict[tuple[str, str], list[int]] = {}
    for version, miss in missing.items():
        groups.setdefault((miss.reason, miss.hint), []).append(version)
    for (reason, hint), versions in groups.items():
        severity: Severity = "error"
        note = ""
        if found:
            step = missing[versions[0]].step
            optional = all(r.trail[step].nullable for r in found.values() if step < len(r.trail))
            severity = "warning" if optional else "error"
            note = f"; it exists in {_versions(list(found))}" + (
                ", where it is optional: these events map it as undefined"
                if optional
                else ", where it is never null"
            )
        message = f"path {read.path}: {reason}"
        yield _problem(spec, message, read.output, read.pos, versions, severity, note + hint)


def _problem(
    spec: MappingSpec,
    message: str,
    output: str,
    pos: Pos,
    versions: list[int],
    severity: Severity,
    suffix: str = "",
) -> CheckProblem:
    where = Location(
        file=spec.file,
        line=pos.line,
        column=pos.column,
        path=output or None,
        schema=spec.event,
        version=versions[0] if len(versions) == 1 else None,
    )
    text = f"{message} (schema {spec.event} {_versions(versions)}{suffix})"
    return CheckProblem(text, where, severity)


def _versions(versions: list[int]) -> str:
    return ", ".join(f"v{v}" for v in sorted(versions))


# -- vendor payload schemas ----------------------------------------------------------------


def check_required_fields(
    spec: MappingSpec, payload_schema: Mapping[str, Any], *, item_pointer: str = ""
) -> list[Problem]:
    """Problems for ``required`` payload properties the mapping does not surely produce.

    ``item_pointer`` (a JSON pointer such as ``/properties/data/items``) names the
    schema of what one mapped event becomes, when the adapter wraps it in an envelope.
    A constant or any directive counts as produced; a field under ``if`` without
    ``else`` (at any level) may be missing. ``allOf`` parts are merged; ``anyOf`` and
    ``oneOf`` cannot be decided statically and are not checked.
    """
    checker = _RequiredFields(spec, payload_schema)
    checker.check(checker.pointer(item_pointer), spec.output, "", item_pointer or "/")
    return checker.problems


class _RequiredFields:
    def __init__(self, spec: MappingSpec, document: Mapping[str, Any]) -> None:
        self.spec = spec
        self.document = document
        self.problems: list[Problem] = []

    def pointer(self, pointer: str) -> Any:
        """The sub-schema at a JSON pointer (``$ref`` followed on the way)."""
        node: Any = self.document
        for token in pointer.split("/")[1:] if pointer else ():
            node = self.deref(node)
            key = token.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise ConfigError(f"payload schema has nothing at {pointer!r}") from None
        return self.deref(node)

    def deref(self, node: Any) -> Any:
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#") or ref in seen:
                raise ConfigError(f"payload schema: cannot follow $ref {ref!r} (local refs only)")
            seen.add(ref)
            node = self.pointer(ref[1:])
        return node

    def shape(self, schema: Any) -> tuple[list[str], dict[str, Any]]:
        """An object schema's required names and property schemas, ``allOf`` merged."""
        schema = self.deref(schema)
        if not isinstance(schema, Mapping):
            return [], {}
        required = list(schema.get("required", ()))
        properties = dict(schema.get("properties", {}))
        for part in schema.get("allOf", ()):
            more_required, more_properties = self.shape(part)
            required += [name for name in more_required if name not in required]
            properties.update(more_properties)
        return required, properties

    def check(self, schema: Any, value: Value, output: str, where: str) -> None:
        for branch in _alternatives(value):
            if branch is not None:
                self.check_shape(schema, branch, output, where)

    def check_shape(self, schema: Any, value: Value, output: str, where: str) -> None:
        schema = self.deref(schema)
        fields = _fields(value)
        if fields is not None:
            required, properties = self.shape(schema)
            for name in required:
                self.check_field(name, fields.get(name), value, output, where)
            for name, child in fields.items():
                if name in properties:
                    here = f"{output}.{name}" if output else name
                    self.check(
                        properties[name], child, here, f"{where.rstrip('/')}/properties/{name}"
                    )
            return
        if isinstance(schema, Mapping) and "items" in schema:
            items, item_where = schema["items"], f"{where.rstrip('/')}/items"
            if isinstance(value, Each):
                self.check(items, value.item, f"{output}[*]", item_where)
            elif isinstance(value, ListValue):
                for n, item in enumerate(value.items):
                    self.check(items, item, f"{output}[{n}]", item_where)

    def check_field(
        self, name: str, child: Value | None, parent: Value, output: str, where: str
    ) -> None:
        here = f"{output}.{name}" if output else name
        if child is None:
            reason = "is not produced by the mapping"
            pos = parent.pos
        elif None in _alternatives(child):
            reason = "may be missing: it is produced under 'if' without 'else'"
            pos = child.pos
        else:
            return
        location = Location(
            file=self.spec.file, line=pos.line, column=pos.column, path=here, schema=self.spec.event
        )
        self.problems.append(
            CheckProblem(f"required field {here} {reason} (payload schema {where})", location)
        )


def _alternatives(value: Value) -> list[Value | None]:
    """What a value may turn out to be: a conditional's branches (``None``: missing)."""
    if not isinstance(value, Conditional):
        return [value]
    found: list[Value | None] = []
    for branch in (value.then, value.otherwise):
        found += [None] if branch is None else _alternatives(branch)
    return found


def _fields(value: Value) -> dict[str, Value] | None:
    """An output object's fields (a literal object's keys too), ``None`` for other values."""
    if isinstance(value, ObjectValue):
        return dict(value.fields)
    if isinstance(value, Const) and isinstance(value.value, Mapping):
        return {str(key): Const(item) for key, item in value.value.items()}
    return None


def check_fixture_output(body: Any, payload_schema: Mapping[str, Any]) -> list[str]:
    """Why ``body`` does not match the vendor's JSON Schema (Draft 2020-12), one line each."""
    try:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import (
            SchemaError as JsonSchemaError,
        )
    except ImportError:  # pragma: no cover - a dev dependency
        raise ConfigError(
            "checking payloads needs jsonschema: pip install 'martech-bus[dev]'"
        ) from None
    try:
        Draft202012Validator.check_schema(payload_schema)
    except JsonSchemaError as exc:
        raise ConfigError(f"invalid payload schema: {exc.message}") from None
    validator = Draft202012Validator(
        payload_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_json_pointer(error.absolute_path)}: {error.message}" for error in errors]


def _json_pointer(parts: Iterable[Any]) -> str:
    tokens = [str(part).replace("~", "~0").replace("/", "~1") for part in parts]
    return "/" + "/".join(tokens) if tokens else "(root)"
