"""Strict, safe YAML for hand-written files (mappings, manifests, the catalogue index, flags).

On top of ``yaml.SafeLoader`` it refuses what makes a hand-written file mean
something other than what its reviewer read: duplicate keys, anchors and aliases
(expansion bombs, action at a distance), explicit tags, merge keys, files over a
size limit, and unquoted scalars whose type depends on the YAML version (``NO``,
``yes``, ``012345``, ``0x1F``, ``1e3``, ``12:30:00``, ``2024-01-01``). Plain
``true``/``false``/``null``, decimal integers and decimal floats keep their types.
The result is a :mod:`~martech_bus.yamlfile.nodes` tree with 1-based lines and columns.

PyYAML's pure-Python scanner and parser take ~3 ms per kilobyte, which a Lambda
cold start pays for every adapter manifest and mapping file. When PyYAML has
libyaml, its scanner and parser feed the same composer, strict checks and
conversion. Text that libyaml reads differently (``_PURE_PYTHON_ONLY``) and any
text with a problem are read the pure-Python way, so trees, positions and error
messages are the same either way (a test compares both readings).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from martech_bus.config import setting
from martech_bus.errors import ConfigError, Location, MartechBusError
from martech_bus.yamlfile.nodes import YMap, YNode, YScalar, YSeq

DEFAULT_MAX_BYTES: Final = 256 * 1024
MAX_DEPTH: Final = 64

_TAG: Final = "tag:yaml.org,2002:"
_CANONICAL_INT: Final = re.compile(r"0|-?[1-9][0-9]*")
_CANONICAL_FLOAT: Final = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?")
# Text YAML 1.2 (core schema) reads as a number, bool or null; PyYAML (YAML 1.1)
# reads some of it as a string ("1e3", "0o17"), so a file would mean different
# things to different tools.
_YAML12_NOT_STRING: Final = re.compile(
    r"null|Null|NULL|~|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_KIND: Final = {
    "bool": "a boolean",
    "int": "an integer",
    "float": "a number",
    "null": "null",
    "timestamp": "a date/time",
}


class _RefusedError(Exception):
    def __init__(self, message: str, mark: Any, path: str = "") -> None:
        super().__init__(message)
        self.mark = mark
        self.path = path


class _StrictComposer(Composer):
    """The composer with the strict checks: no aliases, anchors, explicit tags or deep nesting."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, AliasEvent):
            raise _RefusedError(
                f"aliases (*{event.anchor}) are not allowed in mapping files; write the value out",
                event.start_mark,
            )
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            if event.anchor is not None:
                raise _RefusedError(
                    f"anchors (&{event.anchor}) are not allowed in mapping files", event.start_mark
                )
            if event.tag is not None:
                raise _RefusedError(
                    f"YAML tags ({event.tag}) are not allowed in mapping files; "
                    "quote a value to make it a string",
                    event.start_mark,
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _RefusedError(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class StrictLoader(_StrictComposer, yaml.SafeLoader):
    """A ``SafeLoader`` that refuses aliases, anchors, explicit tags and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _LibyamlStrictLoader(_StrictComposer, CParser, SafeConstructor, Resolver):
        """``StrictLoader`` with libyaml's scanner and parser (events) under the same composer."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._depth = 0

        def compose_node(self, parent: Node | None, index: Any) -> Node | None:
            node = super().compose_node(parent, index)
            if (
                isinstance(node, ScalarNode)
                and node.style is None
                and node.value == ""
                and (parent is None or (isinstance(parent, CollectionNode) and parent.flow_style))
            ):
                # An empty value in a flow collection ({a: }) or an empty document: libyaml
                # places it at the next token, PyYAML right after the colon or the "---".
                raise _RefusedError("an empty value placed differently", node.start_mark)
            return node

        def compose_scalar_node(self, anchor: dict[Any, Node]) -> ScalarNode:
            node = super().compose_scalar_node(anchor)
            if node.style == "":  # libyaml's "plain"; PyYAML's is None
                node.style = None
            return node

    _LIBYAML: type[_LibyamlStrictLoader] | None = _LibyamlStrictLoader
else:  # pragma: no cover - PyYAML built without libyaml
    _LIBYAML = None

# Text that libyaml reads differently from PyYAML (found by differential fuzzing): "?"
# (flow mappings), tabs (libyaml takes them as separators in more places), a comment
# right after a block scalar indicator ("|-#"); and, to be safe, a byte-order mark, NEL /
# LS / PS (line breaks to YAML 1.1 only) and directives. Anchors, aliases and tags need no
# such care: the composer refuses them from libyaml's events as from PyYAML's.
_PURE_PYTHON_ONLY: Final = re.compile(r"[?\t\ufeff\x85\u2028\u2029]|^%|[|>][-+0-9]*#", re.MULTILINE)


def max_bytes_setting(explicit: int | None = None) -> int:
    """The size limit: ``explicit`` > ``MARTECH_BUS_YAML_MAX_BYTES`` > 256 KiB."""
    if explicit is not None:
        return explicit
    raw = setting("yaml_max_bytes", None, str(DEFAULT_MAX_BYTES))
    try:
        value = int(raw or "")
    except ValueError:
        raise ConfigError(f"MARTECH_BUS_YAML_MAX_BYTES must be an integer, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"MARTECH_BUS_YAML_MAX_BYTES must be positive, got {value}")
    return value


def read_yaml_file(
    path: str | Path, *, max_bytes: int | None = None, error: type[MartechBusError] = ConfigError
) -> YNode:
    """Read and strictly parse one YAML file; problems raise ``error`` with file:line:column."""
    limit = max_bytes_setting(max_bytes)
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(
            f"cannot read file: {exc.strerror or exc}", location=Location(file=file)
        ) from exc
    _check_size(len(data), limit, file, error)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"file is not UTF-8 (byte {exc.start})", location=Location(file=file)) from None
    return parse_yaml(text, file=file, max_bytes=limit, error=error)


def parse_yaml(
    text: str,
    *,
    file: str | None = None,
    max_bytes: int | None = None,
    error: type[MartechBusError] = ConfigError,
) -> YNode:
    """Strictly parse YAML text into a positioned node tree."""
    limit = max_bytes_setting(max_bytes)
    _check_size(len(text.encode("utf-8", "surrogatepass")), limit, file, error)
    fast = _parse_with_libyaml(text)
    if fast is not None:
        return fast
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise error("the file is empty", location=Location(file=file))
        return _convert(root, loader, "")
    except _RefusedError as exc:
        raise error(str(exc), location=_where(file, exc.mark, exc.path)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise error(f"invalid YAML: {message or exc}", location=_where(file, mark)) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", location=Location(file=file)) from None
    finally:
        loader.dispose()


def _parse_with_libyaml(text: str) -> YNode | None:
    """The tree read by libyaml, or None to leave the text to the pure-Python reading."""
    if _LIBYAML is None or _PURE_PYTHON_ONLY.search(text) is not None:
        return None
    loader = _LIBYAML(text)
    try:
        root = loader.get_single_node()
        return None if root is None else _convert(root, loader, "")
    except Exception:  # the pure-Python reading reports it, word for word
        return None
    finally:
        loader.dispose()


def _check_size(size: int, limit: int, file: str | None, error: type[MartechBusError]) -> None:
    if size > limit:
        raise error(
            f"the file is larger than {limit} bytes; split it or raise MARTECH_BUS_YAML_MAX_BYTES",
            location=Location(file=file),
        )


def _where(file: str | None, mark: Any, path: str = "") -> Location:
    if mark is None:
        return Location(file=file, path=path or None)
    return Location(file=file, line=mark.line + 1, column=mark.column + 1, path=path or None)


def _convert(node: Node, loader: SafeConstructor, path: str) -> YNode:
    """Nodes -> positioned tree; ``path`` (``output.user_data.em``) is reported with errors."""
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, ScalarNode):
        return _scalar(node, loader, path)
    if isinstance(node, SequenceNode):
        items = (_convert(item, loader, f"{path}[{n}]") for n, item in enumerate(node.value))
        return YSeq(tuple(items), line, column)
    assert isinstance(node, MappingNode)
    entries: list[tuple[YScalar, YNode]] = []
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _RefusedError("mapping keys must be strings", key_node.start_mark, path)
        if key_node.tag == _TAG + "merge":
            raise _RefusedError(
                "merge keys (<<) are not allowed in mapping files", key_node.start_mark, path
            )
        key = _scalar(key_node, loader, path)
        if not isinstance(key.value, str):
            raise _RefusedError(
                f"mapping keys must be strings; quote {key_node.value!r}", key_node.start_mark, path
            )
        here = f"{path}.{key.value}" if path else key.value
        if key.value in seen:
            raise _RefusedError(
                f"duplicate key {key.value!r} (first defined on line {seen[key.value]})",
                key_node.start_mark,
                here,
            )
        seen[key.value] = key_node.start_mark.line + 1
        entries.append((key, _convert(value_node, loader, here)))
    return YMap(tuple(entries), line, column)


def _scalar(node: ScalarNode, loader: SafeConstructor, path: str) -> YScalar:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    text: str = node.value
    if node.style is not None:  # quoted or block scalar: always a string
        return YScalar(text, line, column, plain=False)
    kind = node.tag.removeprefix(_TAG)
    if kind == "str" and _YAML12_NOT_STRING.fullmatch(text) is None:
        return YScalar(text, line, column, plain=True)
    if kind == "null" and text in ("", "~", "null"):
        return YScalar(None, line, column, plain=True)
    if kind == "bool" and text in ("true", "false"):
        return YScalar(text == "true", line, column, plain=True)
    if kind == "int" and _CANONICAL_INT.fullmatch(text):
        return YScalar(int(text), line, column, plain=True)
    if kind == "float" and _CANONICAL_FLOAT.fullmatch(text) and math.isfinite(float(text)):
        return YScalar(float(text), line, column, plain=True)
    if kind == "str":
        reading = "text in YAML 1.1 but not in YAML 1.2"
    elif kind in _KIND:
        shown = repr(loader.construct_object(node)) if kind != "null" else "null"
        reading = f"{_KIND[kind]} ({shown})"
    else:
        reading = "a YAML special value"
    raise _RefusedError(_ambiguous(text, reading), node.start_mark, path)


def _ambiguous(text: str, reading: str) -> str:
    hint = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return (
        f"the unquoted value {text!r} is ambiguous: YAML reads it as {reading}; "
        f"quote it ({hint}) if you mean the text, or write it canonically "
        "(true, false, null, 12, 1.5)"
    )
