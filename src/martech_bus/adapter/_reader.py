"""Reading a positioned YAML tree field by field, collecting every problem instead of stopping.

Each reader method returns the value, or ``None`` after recording a problem with
the file, line, column and key path, so a parser can check a whole file and
report everything wrong with it at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, Final, TypeVar

from martech_bus.adapter.manifest import Owner
from martech_bus.errors import ConfigError, Location, Problem
from martech_bus.mapping.hints import did_you_mean
from martech_bus.yamlfile.nodes import YMap, YNode, YScalar, YSeq, describe

T = TypeVar("T")

Entries = dict[str, tuple[YScalar, YNode]]

_IDENTIFIER: Final = re.compile(r"[a-z][a-z0-9_]*")
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_LINK: Final = re.compile(r"https?://[^\s/]+\S*")
INPUT_SUFFIX: Final = ".input.json"
EXPECTED_SUFFIX: Final = ".expected.json"


def paired_fixtures(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(case, input, expected)`` for every ``<case>.input.json`` in ``folder``, by case name.

    A case with only one of its two files is a ConfigError naming each such case.
    """
    inputs = {p.name.removesuffix(INPUT_SUFFIX): p for p in folder.glob("*" + INPUT_SUFFIX)}
    expected = {p.name.removesuffix(EXPECTED_SUFFIX): p for p in folder.glob("*" + EXPECTED_SUFFIX)}
    orphans = sorted(set(inputs) ^ set(expected))
    if orphans:
        problems = [
            Problem(
                f"fixture {name!r} has no {'expected' if name in inputs else 'input'} file",
                Location(file=str(folder / name)),
            )
            for name in orphans
        ]
        raise ConfigError(f"{len(problems)} incomplete fixture(s) in {folder}", problems=problems)
    return [(name, inputs[name], expected[name]) for name in sorted(inputs)]


class Reader:
    """Typed access to YAML nodes; problems accumulate in ``problems``."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: object, path: str, message: str) -> None:
        location = Location(
            file=self.file,
            line=getattr(node, "line", None),
            column=getattr(node, "column", None),
            path=path or None,
        )
        self.problems.append(Problem(message, location))

    def section(
        self,
        node: YNode,
        path: str,
        *,
        required: Iterable[str] = (),
        optional: Iterable[str] = (),
        what: str = "a mapping",
    ) -> Entries | None:
        """The entries of a mapping; unknown keys (with a hint) and missing required keys are problems."""
        if not isinstance(node, YMap):
            self.problem(node, path, f"must be {what}, got {describe(node)}")
            return None
        required = tuple(required)
        allowed = (*required, *optional)
        given: Entries = {}
        for key_node, value in node.items:
            key = str(key_node.value)
            here = join(path, key)
            if key in allowed:
                given[key] = (key_node, value)
            else:
                where = f"in {path}" if path else "at the top level"
                self.problem(
                    key_node, here, f"unknown key {key!r} {where}{did_you_mean(key, allowed)}"
                )
        for key in required:
            if key not in given:
                self.problem(node, join(path, key), f"missing required key {key!r}")
        return given

    def text(self, node: YNode, path: str, *, pattern: re.Pattern[str] | None = None) -> str | None:
        if not (isinstance(node, YScalar) and isinstance(node.value, str)) or not node.value:
            self.problem(node, path, f"must be a non-empty string, got {describe(node)}")
            return None
        if pattern is not None and not pattern.fullmatch(node.value):
            self.problem(
                node, path, f"{node.value!r} is not valid here (expected {pattern.pattern})"
            )
            return None
        return node.value

    def owner(self, node: YNode, path: str) -> Owner | None:
        """``{team, contact}``: who answers for an adapter or a source."""
        entries = self.section(node, path, required=("team", "contact"))
        if entries is None:
            return None
        team, contact = (
            self.text(entries[key][1], join(path, key)) if key in entries else None
            for key in ("team", "contact")
        )
        return Owner(team, contact) if team and contact else None

    def iso_date(self, node: YNode, path: str) -> date | None:
        """A ``YYYY-MM-DD`` date, written quoted (an unquoted one is a YAML date: refused)."""
        if isinstance(node, YScalar) and isinstance(node.value, date):
            self.problem(node, path, f'quote the date: "{node.value.isoformat()}"')
            return None
        text = self.text(node, path)
        if text is None:
            return None
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.problem(node, path, f"must be a date written YYYY-MM-DD, got {text!r}")
            return None

    def link(self, node: YNode, path: str) -> str | None:
        text = self.text(node, path)
        if text is not None and not _LINK.fullmatch(text):
            self.problem(node, path, f"must be an http(s) link, got {text!r}")
            return None
        return text

    def identifier(self, node: YNode, path: str) -> str | None:
        """A lower-case name: letters, digits and ``_``, starting with a letter."""
        return self.text(node, path, pattern=_IDENTIFIER)

    def choice(self, node: YNode, path: str, options: tuple[str, ...]) -> str | None:
        value = node.value if isinstance(node, YScalar) else None
        if isinstance(value, str) and value in options:
            return value
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        self.problem(node, path, f"must be one of {', '.join(options)}, got {describe(node)}{hint}")
        return None

    def integer(self, node: YNode, path: str, *, minimum: int = 0) -> int | None:
        value = node.value if isinstance(node, YScalar) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.problem(node, path, f"must be an integer >= {minimum}, got {describe(node)}")
        return None

    def number(self, node: YNode, path: str, *, positive: bool = False) -> float | None:
        value: Any = node.value if isinstance(node, YScalar) else None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(value) and (value > 0 or (value == 0 and not positive)):
            return float(value)
        bound = "> 0" if positive else ">= 0"
        self.problem(node, path, f"must be a number {bound}, got {describe(node)}")
        return None

    def boolean(self, node: YNode, path: str) -> bool | None:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self.problem(node, path, f"must be true or false, got {describe(node)}")
        return None

    def items(
        self, node: YNode, path: str, read: Callable[[YNode, str], T | None]
    ) -> list[T] | None:
        """A list read item by item; None when it is not a list or an item is wrong."""
        if not isinstance(node, YSeq):
            self.problem(node, path, f"must be a list, got {describe(node)}")
            return None
        found = [read(item, f"{path}[{n}]") for n, item in enumerate(node.items)]
        return (
            None if any(value is None for value in found) else [v for v in found if v is not None]
        )


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def value_of(entries: Entries, key: str) -> YNode | None:
    """The value node for ``key``, or None when absent."""
    found = entries.get(key)
    return None if found is None else found[1]


def key_of(entries: Entries, key: str) -> YScalar | None:
    found = entries.get(key)
    return None if found is None else found[0]


def is_null(node: YNode | None) -> bool:
    return node is None or (isinstance(node, YScalar) and node.value is None)
