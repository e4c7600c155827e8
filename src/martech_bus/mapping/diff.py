"""Field-level differences between two versions of a mapping, for reviews and changelogs.

Both specs are flattened into output paths (``custom_data.contents[*].id``; a
conditional's branches are ``field<then>`` and ``field<else>``), each with what
produces it (the head: constant, path, coalesce, template, condition, each,
object, list) and its modifiers, rendered as text without positions. Comparing
those texts per path gives added, removed and changed fields, one change per
aspect (``~ custom_data.value: transform [cast float] -> [round 2, cast float]``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from martech_bus.mapping.spec import (
    Coalesce,
    Condition,
    Conditional,
    Const,
    Each,
    ListValue,
    MappingSpec,
    Modifiers,
    ObjectValue,
    PathValue,
    Template,
    TransformCall,
    Value,
)
from martech_bus.mapping.values import UNDEFINED

ChangeKind = Literal["added", "removed", "changed"]
_MARKS: Final = {"added": "+", "removed": "-", "changed": "~"}
_BARE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_NOT_BARE: Final = frozenset({"true", "false", "null"})


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One difference: an output field (or ``source.versions``, ``lookups.x``, ...) and what changed.

    ``aspect`` names what changed for a ``changed`` field (``path``, ``transform``,
    ``default``, ``required``, ``drop_null``, ``condition``, ``value`` when the kind of
    value changed, ...); added and removed fields carry their whole description.
    """

    kind: ChangeKind
    path: str
    aspect: str | None = None
    old: str | None = None
    new: str | None = None

    def __str__(self) -> str:
        mark = _MARKS[self.kind]
        if self.kind == "added":
            return f"{mark} {self.path}: {self.new}"
        if self.kind == "removed":
            return f"{mark} {self.path}: {self.old}"
        what = f"{self.aspect} " if self.aspect else ""
        return f"{mark} {self.path}: {what}{self.old} -> {self.new}"


def render_diff(changes: list[FieldChange]) -> str:
    """One line per change (``+`` added, ``-`` removed, ``~`` changed)."""
    return "\n".join(map(str, changes)) if changes else "no changes"


def diff_mappings(old: MappingSpec, new: MappingSpec) -> list[FieldChange]:
    """Every difference from ``old`` to ``new``: the header, lookups, then output fields."""
    return [
        *_header_changes(old, new),
        *_lookup_changes(old.lookups, new.lookups),
        *_output_changes(_flatten(old.output), _flatten(new.output)),
    ]


# -- header and lookups ---------------------------------------------------------------------


def _header_changes(old: MappingSpec, new: MappingSpec) -> Iterator[FieldChange]:
    pairs = (
        ("mapping_version", old.mapping_version, new.mapping_version),
        ("source.event", old.event, new.event),
        ("source.versions", list(old.versions), list(new.versions)),
        ("drop_nulls", old.drop_nulls, new.drop_nulls),
    )
    for path, before, after in pairs:
        if before != after:
            yield FieldChange("changed", path, None, _scalar(before), _scalar(after))


def _lookup_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> Iterator[FieldChange]:
    for name in _merged_order(list(old), list(new)):
        path = f"lookups.{name}"
        if name not in new:
            yield FieldChange("removed", path, old=_scalar(dict(old[name])))
        elif name not in old:
            yield FieldChange("added", path, new=_scalar(dict(new[name])))
        else:
            before = {key: _scalar(value) for key, value in old[name].items()}
            after = {key: _scalar(value) for key, value in new[name].items()}
            yield from _compare(_prefixed(path, before), _prefixed(path, after), None)


def _prefixed(prefix: str, entries: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {f"{prefix}.{key}": {"": value} for key, value in entries.items()}


# -- output fields ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """One flattened output field: its head (kind and source) and modifiers, as text."""

    head: str
    source: str
    mods: tuple[tuple[str, str], ...]
    container: bool = False

    def aspects(self) -> dict[str, str]:
        return {self.head: self.source, **dict(self.mods)}

    def describe(self) -> str:
        shown = [f"{self.head} {self.source}".rstrip()]
        shown += [f"{name} {text}" for name, text in self.mods if text != _PLAIN_MODS[name]]
        return ", ".join(shown)


_PLAIN_MODS: Final = {
    "transform": "[]",
    "default": "(none)",
    "required": "false",
    "drop_null": "false",
}


def _output_changes(old: dict[str, _Entry], new: dict[str, _Entry]) -> Iterator[FieldChange]:
    for path in _merged_order(list(old), list(new)):
        before, after = old.get(path), new.get(path)
        if before is None or after is None:
            entry = after or before
            assert entry is not None
            # a container's own line only adds noise next to its fields' lines
            if entry.container and _has_children(path, old if before else new):
                continue
            kind: ChangeKind = "added" if before is None else "removed"
            text = entry.describe()
            yield FieldChange(kind, path, old=None if after else text, new=text if after else None)
        elif before.head != after.head:
            yield FieldChange("changed", path, "value", before.describe(), after.describe())
        else:
            yield from _compare({path: before.aspects()}, {path: after.aspects()}, path)


def _compare(
    old: dict[str, dict[str, str]], new: dict[str, dict[str, str]], only: str | None
) -> Iterator[FieldChange]:
    """Changes between aspect tables keyed by path (a missing path is added or removed)."""
    for path in _merged_order(list(old), list(new)):
        if path not in new:
            yield FieldChange("removed", path, old=" ".join(old[path].values()))
        elif path not in old:
            yield FieldChange("added", path, new=" ".join(new[path].values()))
        else:
            for aspect, before in old[path].items():
                after = new[path][aspect]
                if before != after:
                    yield FieldChange("changed", path, aspect or None, before, after)


def _has_children(path: str, entries: Mapping[str, _Entry]) -> bool:
    return any(
        other != path and other.startswith((f"{path}.", f"{path}[", f"{path}<"))
        for other in entries
    )


def _merged_order(old: list[str], new: list[str]) -> list[str]:
    """``new``'s keys in order, each key only in ``old`` placed after its old predecessor."""
    merged = list(new)
    for n, key in enumerate(old):
        if key not in merged:
            at = merged.index(old[n - 1]) + 1 if n and old[n - 1] in merged else 0
            merged.insert(at, key)
    return merged


def _flatten(value: Value, path: str = "") -> dict[str, _Entry]:
    """Every output field of a value tree by output path, in document order."""
    found: dict[str, _Entry] = {}
    _visit(value, path, found)
    return found


def _visit(value: Value, path: str, found: dict[str, _Entry]) -> None:
    head, source = _head(value)
    container = isinstance(value, ObjectValue | ListValue)
    if path or value.mods != Modifiers():
        found[path] = _Entry(head, source, _mods(value.mods), container)
    if isinstance(value, ObjectValue):
        for key, child in value.fields:
            _visit(child, f"{path}.{key}" if path else key, found)
    elif isinstance(value, ListValue):
        for n, item in enumerate(value.items):
            _visit(item, f"{path}[{n}]", found)
    elif isinstance(value, Each):
        _visit(value.item, f"{path}[*]", found)
    elif isinstance(value, Conditional):
        for name, branch in (("then", value.then), ("else", value.otherwise)):
            if branch is not None:
                _visit(branch, f"{path}<{name}>", found)


def _head(value: Value) -> tuple[str, str]:
    """What produces a value: its kind and source, as text (nested values are inlined)."""
    if isinstance(value, Const):
        return "constant", _scalar(value.value)
    if isinstance(value, PathValue):
        return "path", value.path.text
    if isinstance(value, Coalesce):
        return "coalesce", f"[{', '.join(path.text for path in value.paths)}]"
    if isinstance(value, Template):
        return "template", json.dumps(value.text, ensure_ascii=False)
    if isinstance(value, Conditional):
        return "condition", _condition(value.condition)
    if isinstance(value, Each):
        return "each", value.source.text
    if isinstance(value, ObjectValue):
        return "object", ""
    return "list", ""


def _condition(cond: Condition) -> str:
    if cond.op in ("exists", "blank"):
        return f"{cond.path.text} {cond.op}: {_scalar(not cond.negate)}"
    name = ("not_" if cond.negate else "") + ("equals" if cond.op == "equals" else "in")
    operand = list(cond.operand) if cond.op == "in" else cond.operand
    return f"{cond.path.text} {name}: {_scalar(operand)}"


def _mods(mods: Modifiers) -> tuple[tuple[str, str], ...]:
    default = "(none)" if mods.default is UNDEFINED else _scalar(mods.default)
    return (
        ("transform", f"[{', '.join(map(_call, mods.transforms))}]"),
        ("default", default),
        ("required", _scalar(mods.required)),
        ("drop_null", _scalar(mods.drop_null)),
    )


def _call(call: TransformCall) -> str:
    args = [_inline(arg) for arg in call.args]
    args += [f"{key}={_inline(arg)}" for key, arg in call.kwargs]
    return " ".join((call.name, *args))


def _inline(value: Value) -> str:
    """A transform argument: a constant as itself, a directive as ``{head: source, ...}``."""
    if isinstance(value, Const) and value.mods == Modifiers():
        return _scalar(value.value)
    head, source = _head(value)
    extra = "".join(
        f", {name}: {text}" for name, text in _mods(value.mods) if text != _PLAIN_MODS[name]
    )
    return f"{{{head}: {source}{extra}}}"


def _scalar(value: Any) -> str:
    """Compact YAML-like text for a constant: bare words stay bare, other text is quoted."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        bare = _BARE.fullmatch(value) and value not in _NOT_BARE
        return value if bare else json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_scalar(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_scalar, value)) + "]"
    return repr(value)
