"""The flag model: per integration, a route mode or a sticky rollout from one mode to another.

An integration is ``<vendor>`` (every source) or ``<source>:<vendor>`` (one source,
which wins over the vendor-wide flag). A flag holds a :class:`Setting` (what routes)
and the metadata that makes a temporary flag accountable: an owner, a reason and
the date it is expected to be gone.

Stores read flags from nested data (a YAML file, an SSM parameter's JSON) through
:func:`flag_from_node`, so every store refuses the same mistakes with the same words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from martech_bus.errors import ConfigError, Location, Problem
from martech_bus.routing.modes import MODES, RouteMode, parse_mode
from martech_bus.yamlfile.nodes import YMap, YNode, YScalar, describe

_SEGMENT: Final = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
# No "__" inside a segment: environment variable names spell ":" as "__".
INTEGRATION: Final = re.compile(rf"(?:{_SEGMENT}:)?{_SEGMENT}")
#: Part of the bucketing input; change it to reshuffle who is in a rollout.
DEFAULT_SALT: Final = "rollout"
#: Fields a flag may have in a file or a parameter value.
FIELDS: Final = ("mode", "to", "percent", "salt", "expires_on", "owner", "reason", "version")


def is_integration(name: object) -> bool:
    """True for ``vendor`` or ``source:vendor`` in lower-case snake case."""
    return isinstance(name, str) and INTEGRATION.fullmatch(name) is not None


def _not_an_integration(name: object) -> str:
    return (
        f"{name!r} is not an integration name: use <vendor> or <source>:<vendor>, "
        "lower-case letters, digits and single underscores (e.g. braze, web:meta_capi)"
    )


def check_integration(name: object, *, location: Location | None = None) -> str:
    """``name`` when it is a valid integration name, else a ConfigError saying why."""
    if not is_integration(name):
        raise ConfigError(_not_an_integration(name), location=location)
    return str(name)


def format_percent(percent: float) -> str:
    """``25`` rather than ``25.0``; ``12.5`` stays."""
    return f"{percent:g}"


def _percent_problem(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"percent must be a number from 0 to 100, got {value!r}"
    if not math.isfinite(value) or not 0 <= value <= 100:
        return f"percent must be from 0 to 100, got {value!r}"
    return None


@dataclass(frozen=True, slots=True)
class Setting:
    """What routes: ``mode`` for everyone, or ``percent`` % of keys moved from ``mode`` to ``to``."""

    mode: RouteMode
    to: RouteMode | None = None
    percent: float = 0.0
    salt: str = DEFAULT_SALT

    def __post_init__(self) -> None:
        problem = _percent_problem(self.percent)
        if problem is not None:
            raise ConfigError(problem)
        object.__setattr__(self, "percent", float(self.percent))  # 25 and 25.0 read the same
        if self.to is None and self.percent != 0:
            raise ConfigError("a percent needs a rollout target (to)")
        if self.to is not None and self.to == self.mode:
            raise ConfigError(f"a rollout goes from one mode to another, not {self.mode} to itself")
        if not self.salt:
            raise ConfigError("the rollout salt must not be empty")

    def compact(self) -> str:
        """``bus`` or ``dual:shadow:25`` (``:SALT`` appended when not the default)."""
        if self.to is None:
            return self.mode.value
        text = f"{self.mode}:{self.to}:{format_percent(self.percent)}"
        return text if self.salt == DEFAULT_SALT else f"{text}:{self.salt}"

    def describe(self) -> str:
        """``bus`` or ``dual -> shadow at 25%`` for people."""
        if self.to is None:
            return self.mode.value
        return f"{self.mode} -> {self.to} at {format_percent(self.percent)}%"

    def only_mode(self) -> RouteMode | None:
        """The one mode every key gets, or None for a rollout that splits them."""
        if self.to is None or self.percent == 0:
            return self.mode
        return self.to if self.percent == 100 else None


def parse_setting(text: str, *, location: Location | None = None) -> Setting:
    """A setting from the compact syntax: ``MODE`` or ``FROM:TO:PERCENT[:SALT]``."""
    parts = text.strip().split(":", 3)
    if len(parts) == 1:
        return Setting(parse_mode(parts[0], location=location))
    if len(parts) == 2:
        raise ConfigError(
            f"{text!r}: a rollout is FROM:TO:PERCENT (e.g. dual:bus:25)", location=location
        )
    mode, to = parse_mode(parts[0], location=location), parse_mode(parts[1], location=location)
    try:
        percent = float(parts[2])
    except ValueError:
        raise ConfigError(
            f"{text!r}: percent must be a number from 0 to 100, got {parts[2]!r}",
            location=location,
        ) from None
    salt = parts[3] if len(parts) == 4 else DEFAULT_SALT
    try:
        return Setting(mode, to, percent, salt)
    except ConfigError as exc:
        raise ConfigError(f"{text!r}: {exc.message}", location=location) from None


@dataclass(frozen=True, slots=True)
class Flag:
    """One integration's setting with its owner, reason, end date and store version."""

    integration: str
    setting: Setting
    expires_on: date | None = None
    owner: str | None = None
    reason: str | None = None
    version: int = 0  # the store's version of this flag; 0 = never stored

    @property
    def mode(self) -> RouteMode:
        return self.setting.mode

    def expired(self, today: date) -> bool:
        return self.expires_on is not None and self.expires_on < today

    def warnings(self, today: date) -> list[str]:
        """Why this flag nags: it outlived its end date, or it is transitional without one."""
        owner = f" (owner: {self.owner})" if self.owner else ""
        if self.expires_on is not None and self.expires_on < today:
            days = (today - self.expires_on).days
            return [
                f"{self.integration}: {self.setting.describe()} expired on {self.expires_on} "
                f"({days} day{'s' * (days != 1)} ago){owner}; finish the migration or extend expires_on"
            ]
        transitional = self.setting.only_mode() in (None, RouteMode.DUAL, RouteMode.SHADOW)
        if self.expires_on is None and transitional:
            return [
                f"{self.integration}: {self.setting.describe()} is a transitional setting "
                f"without expires_on{owner}; give it an end date"
            ]
        return []

    def fields(self) -> dict[str, Any]:
        """The flag as plain data, in file order (``version`` excluded; stores keep it their way)."""
        data: dict[str, Any] = {"mode": self.setting.mode.value}
        if self.setting.to is not None:
            data["to"] = self.setting.to.value
            percent = self.setting.percent
            data["percent"] = int(percent) if percent.is_integer() else percent
        if self.setting.salt != DEFAULT_SALT:
            data["salt"] = self.setting.salt
        if self.expires_on is not None:
            data["expires_on"] = self.expires_on.isoformat()
        if self.owner is not None:
            data["owner"] = self.owner
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def nag(flags: Iterable[Flag], today: date) -> list[str]:
    """Warnings for flags that outlived their end date or are transitional without one."""
    return [warning for flag in flags for warning in flag.warnings(today)]


class _Problems:
    """Problems found while reading flags, each with where it is."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.found: list[Problem] = []

    def add(self, message: str, node: YNode | None, path: str) -> None:
        line = None if node is None else node.line
        column = None if node is None else node.column
        self.found.append(Problem(message, Location(self.file, line, column, path=path or None)))

    def raise_any(self) -> None:
        if len(self.found) == 1:
            problem = self.found[0]
            raise ConfigError(problem.message, location=problem.location)
        if self.found:
            raise ConfigError(
                f"{len(self.found)} problems in the flags",
                location=Location(file=self.file),
                problems=self.found,
            )


def flags_from_tree(root: YNode, *, file: str | None = None) -> dict[str, Flag]:
    """Every flag in a flags document: ``{flags: {<integration>: {mode: ..., ...}}}``."""
    problems = _Problems(file)
    flags: dict[str, Flag] = {}
    if not isinstance(root, YMap):
        problems.add(
            f"the flags file must be a mapping with a 'flags' key, not {describe(root)}", root, ""
        )
        problems.raise_any()
    assert isinstance(root, YMap)
    entries: YNode | None = None
    for key, value in root.items:
        if key.value == "flags":
            entries = value
        else:
            from martech_bus.mapping.hints import did_you_mean

            hint = did_you_mean(key.value, ["flags"]) or (
                "; integrations go under 'flags:'" if is_integration(key.value) else ""
            )
            problems.add(f"unknown key {key.value!r}{hint}", key, str(key.value))
    if isinstance(entries, YMap):
        for key, value in entries.items:
            path = f"flags.{key.value}"
            if not is_integration(key.value):
                problems.add(_not_an_integration(key.value), key, path)
                continue
            flag = _flag(str(key.value), value, problems, path, key, with_version=True)
            if flag is not None:
                flags[flag.integration] = flag
    elif entries is not None and not (isinstance(entries, YScalar) and entries.value is None):
        problems.add(
            f"'flags' must be a mapping of integrations, not {describe(entries)}", entries, "flags"
        )
    problems.raise_any()
    return flags


def flag_from_node(
    integration: str, node: YNode, *, file: str | None = None, version: int = 0
) -> Flag:
    """One flag from its fields (an SSM parameter's JSON); ``version`` comes from the store."""
    problems = _Problems(file)
    flag = _flag(integration, node, problems, "", None, with_version=False)
    problems.raise_any()
    assert flag is not None
    return Flag(flag.integration, flag.setting, flag.expires_on, flag.owner, flag.reason, version)


def _flag(
    integration: str,
    node: YNode,
    problems: _Problems,
    path: str,
    key: YScalar | None,
    *,
    with_version: bool,
) -> Flag | None:
    """A flag from its mapping node, or None after adding what is wrong to ``problems``."""
    if not isinstance(node, YMap):
        problems.add(f"a flag is a mapping (mode: direct, ...), not {describe(node)}", node, path)
        return None
    before = len(problems.found)
    allowed = FIELDS if with_version else FIELDS[:-1]
    values: dict[str, YNode] = {}
    for field_key, value in node.items:
        name = str(field_key.value)
        if name not in allowed:
            from martech_bus.mapping.hints import did_you_mean

            problems.add(
                f"unknown field {name!r}{did_you_mean(name, allowed)} (fields: {', '.join(allowed)})",
                field_key,
                _join(path, name),
            )
            continue
        values[name] = value

    def here(name: str) -> str:
        return _join(path, name)

    def location(name: str) -> Location:
        at = values[name]
        return Location(problems.file, at.line, at.column, path=here(name) or None)

    def text(name: str) -> str | None:
        at = values.get(name)
        if at is None:
            return None
        if not isinstance(at, YScalar) or not isinstance(at.value, str) or not at.value.strip():
            problems.add(f"{name} must be non-empty text, not {describe(at)}", at, here(name))
            return None
        return str(at.value)

    mode = to = None
    if "mode" not in values:
        problems.add(f"a flag needs a mode ({', '.join(MODES)})", key or node, path)
    else:
        mode = _mode(values["mode"], problems, location("mode"))
    if "to" in values:
        to = _mode(values["to"], problems, location("to"))
    percent: float = 0.0
    if "percent" in values:
        at = values["percent"]
        raw = at.value if isinstance(at, YScalar) else describe(at)
        problem = _percent_problem(raw)
        if problem is not None:
            problems.add(problem, at, here("percent"))
        else:
            percent = float(raw)
        if "to" not in values:
            problems.add("percent needs a rollout target: add 'to: <mode>'", at, here("percent"))
    elif "to" in values:
        problems.add("a rollout needs 'percent: <0-100>'", values["to"], here("to"))
    if mode is not None and to is not None and mode == to:
        problems.add(
            f"a rollout goes from one mode to another, not {mode} to itself",
            values["to"],
            here("to"),
        )
    salt = text("salt") or DEFAULT_SALT
    expires_on = None
    expires_text = text("expires_on")
    if expires_text is not None:
        try:
            expires_on = date.fromisoformat(expires_text)
        except ValueError:
            problems.add(
                f"expires_on must be a date written YYYY-MM-DD, got {expires_text!r}",
                values["expires_on"],
                here("expires_on"),
            )
    owner, reason = text("owner"), text("reason")
    version = 0
    if "version" in values:
        at = values["version"]
        if isinstance(at, YScalar) and type(at.value) is int and at.value >= 1:
            version = at.value
        else:
            problems.add(
                f"version must be a positive integer, not {describe(at)}", at, here("version")
            )
    elif with_version:
        version = 1  # a hand-written flag that was never flipped by a tool
    if len(problems.found) > before or mode is None:
        return None
    return Flag(integration, Setting(mode, to, percent, salt), expires_on, owner, reason, version)


def _mode(node: YNode, problems: _Problems, location: Location) -> RouteMode | None:
    value = node.value if isinstance(node, YScalar) else describe(node)
    try:
        return parse_mode(value, location=location)
    except ConfigError as exc:
        problems.found.append(Problem(exc.message, location))
        return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
