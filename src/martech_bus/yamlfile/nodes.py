"""A YAML-free document tree that remembers where each value was written.

The YAML loader produces it; the spec parser reads it, so spec errors can point at a
line and column without the parser (or anything at runtime) importing PyYAML.
``from_python`` builds the same tree from plain data for specs written in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar; ``plain`` is true when it was written unquoted in YAML."""

    value: Any
    line: int | None = None
    column: int | None = None
    plain: bool = False


@dataclass(frozen=True, slots=True)
class YMap:
    """A mapping with its keys in file order (duplicates are rejected by the loader)."""

    items: tuple[tuple[YScalar, YNode], ...]
    line: int | None = None
    column: int | None = None

    def key_names(self) -> list[str]:
        return [str(key.value) for key, _ in self.items]


@dataclass(frozen=True, slots=True)
class YSeq:
    """A sequence."""

    items: tuple[YNode, ...]
    line: int | None = None
    column: int | None = None


YNode = YScalar | YMap | YSeq


def to_python(node: YNode) -> Any:
    """The plain value a node stands for."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [to_python(item) for item in node.items]
    return {key.value: to_python(value) for key, value in node.items}


def from_python(data: Any) -> YNode:
    """A tree (without positions) for plain data; strings count as quoted."""
    if isinstance(data, Mapping):
        return YMap(tuple((YScalar(key), from_python(value)) for key, value in data.items()))
    if isinstance(data, list | tuple):
        return YSeq(tuple(from_python(item) for item in data))
    return YScalar(data)


def describe(node: YNode) -> str:
    """How a node reads in an error message: ``a mapping``, ``null``, ``int 3``."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    if node.value is None:
        return "null"
    if isinstance(node.value, str) and not node.value:
        return "an empty string"
    return f"{type(node.value).__name__} {node.value!r}"
