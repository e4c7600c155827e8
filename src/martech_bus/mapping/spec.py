"""The mapping spec: plain frozen dataclasses describing one event -> one vendor payload.

A spec is what the parser builds from a YAML file and what the compiler turns into
a callable. Every value node keeps its position so later checks can point at a line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from martech_bus.mapping.paths import STAR, PathExpr, Step, format_steps
from martech_bus.mapping.values import UNDEFINED


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a node was written (1-based), when known."""

    line: int | None = None
    column: int | None = None


NOWHERE = Pos()


@dataclass(frozen=True, slots=True)
class TransformCall:
    """One pipeline step: a registered transform name and its arguments."""

    name: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class Modifiers:
    """What applies after a directive's value: transforms, default, drop_null, required."""

    transforms: tuple[TransformCall, ...] = ()
    default: Any = UNDEFINED  # UNDEFINED = no default
    drop_null: bool = False
    required: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not UNDEFINED


PLAIN = Modifiers()


@dataclass(frozen=True, slots=True)
class Const:
    """A constant: a bare YAML scalar, or ``literal:`` (which may carry modifiers)."""

    value: Any
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class PathValue:
    """``path:`` - the value at a path."""

    path: PathExpr
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class Coalesce:
    """``coalesce:`` - the first path whose value is present (defined and not null)."""

    paths: tuple[PathExpr, ...]
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class Template:
    """``template:`` - text with ``{{path}}`` placeholders; parts alternate text and paths."""

    text: str
    parts: tuple[str | PathExpr, ...]
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


ConditionOp = Literal["exists", "blank", "equals", "in"]


@dataclass(frozen=True, slots=True)
class Condition:
    """A test on one path: exists / blank / equals a constant / is in a set of constants."""

    path: PathExpr
    op: ConditionOp
    operand: Any = None  # the constant for equals, a tuple for in
    negate: bool = False
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class Conditional:
    """``if:`` / ``then:`` / ``else:`` - a missing branch gives undefined."""

    condition: Condition
    then: Value | None = None
    otherwise: Value | None = None
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class Each:
    """``each:`` / ``as:`` - map every item of a list; paths in ``item`` are item-relative."""

    source: PathExpr
    item: Value
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class ObjectValue:
    """A nested output object (a plain YAML mapping, or ``object:`` with literal keys)."""

    fields: tuple[tuple[str, Value], ...]
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


@dataclass(frozen=True, slots=True)
class ListValue:
    """An output list written as a YAML sequence; undefined items are left out."""

    items: tuple[Value, ...]
    mods: Modifiers = PLAIN
    pos: Pos = NOWHERE


Value = Const | PathValue | Coalesce | Template | Conditional | Each | ObjectValue | ListValue

InputRole = Literal["value", "coalesce", "template", "condition", "each", "argument"]


@dataclass(frozen=True, slots=True)
class InputPath:
    """One read of the event: which path, for which output field, where, and what transforms it."""

    path: str
    output: str
    role: InputRole
    transforms: tuple[str, ...]
    line: int | None
    column: int | None


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """One mapping file: which event versions it accepts and the output shape."""

    mapping_version: int
    event: str
    versions: tuple[int, ...]
    output: ObjectValue
    lookups: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    drop_nulls: bool = False
    file: str | None = None

    def accepts(self, event_type: str, schema_version: int) -> bool:
        """True when this mapping is written for that event type and schema version."""
        return event_type == self.event and schema_version in self.versions

    def input_paths(self) -> list[InputPath]:
        """Every path the mapping reads, as absolute event paths (``[*]`` inside ``each``)."""
        return list(_reads(self.output, "", ()))


def _absolute(path: PathExpr, item: tuple[Step, ...]) -> str:
    base = item if path.anchor != "root" else ()
    return format_steps(base + path.steps) or "$"


def _names(mods: Modifiers) -> tuple[str, ...]:
    return tuple(call.name for call in mods.transforms)


def _reads(value: Value, output: str, item: tuple[Step, ...]) -> Iterator[InputPath]:
    """Walk a value node; ``item`` is the absolute steps of the current ``each`` item."""
    names = _names(value.mods)

    def read(path: PathExpr, role: InputRole, pos: Pos = value.pos) -> InputPath:
        return InputPath(_absolute(path, item), output, role, names, pos.line, pos.column)

    if isinstance(value, PathValue):
        yield read(value.path, "value")
    elif isinstance(value, Coalesce):
        yield from (read(path, "coalesce") for path in value.paths)
    elif isinstance(value, Template):
        for part in value.parts:
            if isinstance(part, PathExpr):
                yield read(part, "template")
    elif isinstance(value, Conditional):
        cond = value.condition
        yield InputPath(
            _absolute(cond.path, item), output, "condition", (), cond.pos.line, cond.pos.column
        )
        for branch in (value.then, value.otherwise):
            if branch is not None:
                yield from _reads(branch, output, item)
    elif isinstance(value, Each):
        yield read(value.source, "each")
        inner = (item if value.source.anchor != "root" else ()) + value.source.steps + (STAR,)
        yield from _reads(value.item, f"{output}[*]", inner)
    elif isinstance(value, ObjectValue):
        for key, child in value.fields:
            yield from _reads(child, f"{output}.{key}" if output else key, item)
    elif isinstance(value, ListValue):
        for n, child in enumerate(value.items):
            yield from _reads(child, f"{output}[{n}]", item)
    for call in value.mods.transforms:
        for arg in (*call.args, *(v for _, v in call.kwargs)):
            for found in _reads(arg, output, item):
                yield InputPath(
                    found.path, output, "argument", found.transforms, found.line, found.column
                )
