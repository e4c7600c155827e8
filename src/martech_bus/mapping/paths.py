"""Paths into an event: syntax (``properties.products[0].sku``) and the walkers that read them.

A path is a chain of steps: a key (``.name``), a list index (``[0]``, ``[-1]``) or a
wildcard (``[*]``, which yields a list). It is anchored at the current scope (the
event, or the item inside ``each``), at the event root (``$``), or at the current
item (``$item``). Reading never fails: a missing key, an index out of range, or a
step into a value of the wrong kind gives ``UNDEFINED``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from martech_bus.mapping.values import UNDEFINED


class _Star:
    __slots__ = ()

    def __repr__(self) -> str:
        return "STAR"


#: The wildcard step ``[*]``.
STAR: Final = _Star()

Step = str | int | _Star
Anchor = Literal["scope", "root", "item"]

_ANCHORS: Final[tuple[tuple[str, Anchor], ...]] = (("$item", "item"), ("$", "root"))
_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*")
_BRACKET: Final = re.compile(r"\[(-?[0-9]+|\*)\]")


@dataclass(frozen=True, slots=True)
class PathExpr:
    """A parsed path: where it starts and the steps from there."""

    text: str
    anchor: Anchor
    steps: tuple[Step, ...]

    @property
    def has_wildcard(self) -> bool:
        return any(step is STAR for step in self.steps)

    def __str__(self) -> str:
        return self.text


def format_steps(steps: tuple[Step, ...]) -> str:
    """Render steps back to path text (``a.b[0][*]``)."""
    out: list[str] = []
    for step in steps:
        if isinstance(step, str):
            out.append(f".{step}" if out else step)
        elif step is STAR:
            out.append("[*]")
        else:
            out.append(f"[{step}]")
    return "".join(out)


def parse_path(text: str) -> PathExpr:
    """Parse path text; raises ``ValueError`` saying what is wrong and where."""
    anchor: Anchor = "scope"
    pos = 0
    for prefix, kind in _ANCHORS:
        if text.startswith(prefix) and text[len(prefix) : len(prefix) + 1] in ("", ".", "["):
            anchor, pos = kind, len(prefix)
            break
    if anchor == "scope" and not text:
        raise ValueError("empty path")
    steps: list[Step] = []
    need_name = anchor == "scope"
    while pos < len(text):
        if need_name:
            match = _NAME.match(text, pos)
            if match is None:
                raise ValueError(_bad(text, pos, "expected a key name"))
            steps.append(match.group())
            pos, need_name = match.end(), False
        elif text[pos] == ".":
            pos, need_name = pos + 1, True
        elif text[pos] == "[":
            match = _BRACKET.match(text, pos)
            if match is None:
                raise ValueError(_bad(text, pos, "expected [<integer>] or [*]"))
            inner = match.group(1)
            steps.append(STAR if inner == "*" else int(inner))
            pos = match.end()
        else:
            raise ValueError(_bad(text, pos, "expected '.' or '['"))
    if need_name and pos > 0:
        raise ValueError(_bad(text, pos, "expected a key name after '.'"))
    return PathExpr(text, anchor, tuple(steps))


def _bad(text: str, pos: int, what: str) -> str:
    found = repr(text[pos]) if pos < len(text) else "the end"
    return f"invalid path {text!r}: {what} at character {pos + 1}, found {found}"


def get_key(obj: Any, key: str) -> Any:
    """``obj[key]`` for any mapping, else ``UNDEFINED``."""
    if isinstance(obj, Mapping):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def get_index(obj: Any, index: int) -> Any:
    """``obj[index]`` for a list or tuple (negative counts from the end), else ``UNDEFINED``."""
    if isinstance(obj, list | tuple):
        try:
            return obj[index]
        except IndexError:
            return UNDEFINED
    return UNDEFINED


def walk(obj: Any, steps: tuple[Step, ...]) -> Any:
    """Follow ``steps`` from ``obj``; a wildcard collects (and flattens) what follows it."""
    for n, step in enumerate(steps):
        if isinstance(step, str):
            obj = get_key(obj, step)
        elif isinstance(step, int):
            obj = get_index(obj, step)
        else:
            return _spread(obj, steps[n + 1 :])
        if obj is UNDEFINED:
            return UNDEFINED
    return obj


def _spread(obj: Any, rest: tuple[Step, ...]) -> Any:
    if not isinstance(obj, list | tuple):
        return UNDEFINED
    nested = any(step is STAR for step in rest)
    out: list[Any] = []
    for item in obj:
        value = walk(item, rest)
        if value is UNDEFINED:
            continue
        if nested:
            out.extend(value)
        else:
            out.append(value)
    return out
