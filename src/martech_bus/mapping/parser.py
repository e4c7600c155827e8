"""Mapping files -> ``MappingSpec``: the language's grammar, checked with line-accurate errors.

Reading rules (see docs/mappings.md):

* a bare scalar is a constant;
* a YAML sequence is an output list;
* a YAML mapping containing any reserved directive key is a directive with exactly
  one head (``path``, ``coalesce``, ``template``, ``literal``, ``if``, ``each``,
  ``object``) plus that head's companions and the modifiers;
* any other YAML mapping is a nested output object. Its keys are checked against the
  directive keys, so a misspelt directive (``paht:``) is an error with a hint, never
  silently an object; ``object:`` takes keys literally for the rare vendor field that
  collides with a directive name.

Every problem found is reported at once, each with file:line:column and the spec field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from martech_bus.errors import Location, MappingError, Problem
from martech_bus.mapping.hints import did_you_mean, is_near
from martech_bus.mapping.paths import PathExpr, parse_path
from martech_bus.mapping.registry import TransformRegistry, bind
from martech_bus.mapping.spec import (
    PLAIN,
    Coalesce,
    Condition,
    Conditional,
    ConditionOp,
    Const,
    Each,
    ListValue,
    MappingSpec,
    Modifiers,
    ObjectValue,
    PathValue,
    Pos,
    Template,
    TransformCall,
    Value,
)
from martech_bus.mapping.values import UNDEFINED
from martech_bus.yamlfile.nodes import (
    YMap,
    YNode,
    YScalar,
    YSeq,
    describe,
    from_python,
    to_python,
)

if TYPE_CHECKING:
    from martech_bus.mapping.compiler import CompiledMapping

HEADS: Final = ("path", "coalesce", "template", "literal", "if", "each", "object")
COMPANIONS: Final[Mapping[str, tuple[str, ...]]] = {"if": ("then", "else"), "each": ("as",)}
MODIFIERS: Final = ("transform", "default", "drop_null", "required")
#: Keys that make a YAML mapping a directive; an output object needs ``object:`` to use them.
DIRECTIVE_KEYS: Final = frozenset((*HEADS, "then", "else", "as", *MODIFIERS))
# Short keys (if, as) would flag real vendor fields such as "id"; only longer ones are fuzzy-checked.
_FUZZY: Final = tuple(key for key in (*HEADS, *MODIFIERS) if len(key) >= 4)
_CONDITION_OPS: Final = ("exists", "blank", "equals", "in", "not_equals", "not_in")
_TOP_LEVEL: Final = ("mapping_version", "source", "lookups", "drop_nulls", "output")
_EVENT_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")
_PLACEHOLDER: Final = re.compile(r"\{\{(.*?)\}\}")
_EVENT_ROOTS: Final = ("properties", "context", "consent")


Entries = dict[str, tuple[YScalar, YNode]]
Hint = Callable[[str], str] | None


class _Parser:
    def __init__(self, file: str | None, registry: TransformRegistry) -> None:
        self.file = file
        self.registry = registry
        self.problems: list[Problem] = []
        self.lookups: dict[str, dict[str, Any]] = {}

    # -- reporting --------------------------------------------------------------------------

    def problem(self, node: YNode | Pos | None, field: str, message: str) -> None:
        line = getattr(node, "line", None)
        column = getattr(node, "column", None)
        self.problems.append(
            Problem(message, Location(file=self.file, line=line, column=column, path=field or None))
        )

    def keyed(
        self, node: YMap, allowed: tuple[str, ...], field: str, where: str, hint: Hint = None
    ) -> Entries:
        """The entries of ``node`` by key; keys outside ``allowed`` are reported with a hint."""
        given = {str(key.value): (key, value) for key, value in node.items}
        for key, (key_node, _) in given.items():
            if key not in allowed:
                suffix = (hint and hint(key)) or did_you_mean(key, allowed)
                self.problem(key_node, _join(field, key), f"unknown key {key!r} {where}{suffix}")
        return given

    def text(self, node: YNode, field: str, what: str) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return node.value
        self.problem(
            node, field, f"{what} must be a string, got {describe(node)}{_quote_hint(node)}"
        )
        return None

    def integer(self, node: YNode, field: str, what: str, minimum: int) -> int | None:
        value = node.value if isinstance(node, YScalar) else None
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self.problem(node, field, f"{what} must be an integer >= {minimum}, got {describe(node)}")
        return None

    def boolean(self, node: YNode, field: str, what: str) -> bool:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self.problem(node, field, f"{what} must be true or false, got {describe(node)}")
        return False

    def path(
        self, node: YNode, field: str, in_each: bool, *, wildcard: bool = True
    ) -> PathExpr | None:
        text = self.text(node, field, "a path")
        if text is None:
            return None
        try:
            path = parse_path(text)
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None
        if path.anchor == "item" and not in_each:
            self.problem(node, field, f"{text!r}: $item is only meaningful inside 'each'")
        elif path.has_wildcard and not wildcard:
            self.problem(node, field, f"{text!r}: a wildcard [*] is not allowed here")
        return path

    # -- the file -----------------------------------------------------------------------------

    def parse(self, root: YNode) -> MappingSpec | None:
        if not isinstance(root, YMap):
            self.problem(root, "", f"a mapping file is a YAML mapping, got {describe(root)}")
            return None
        given = self.keyed(root, _TOP_LEVEL, "", "at the top level")
        for key in ("mapping_version", "source", "output"):
            if key not in given:
                self.problem(root, key, f"missing required top-level key {key!r}")
        version = event = versions = None
        if "mapping_version" in given:
            version = self.integer(
                given["mapping_version"][1], "mapping_version", "mapping_version", 1
            )
        if "source" in given:
            event, versions = self.source(given["source"][1])
        if "lookups" in given:
            self.parse_lookups(given["lookups"][1])
        drop_nulls = False
        if "drop_nulls" in given:
            drop_nulls = self.boolean(given["drop_nulls"][1], "drop_nulls", "drop_nulls")
        output = self.output(given["output"][1]) if "output" in given else None
        if self.problems or None in (version, event, versions, output):
            return None
        assert version is not None and event is not None and versions is not None
        assert output is not None
        return MappingSpec(version, event, versions, output, self.lookups, drop_nulls, self.file)

    def source(self, node: YNode) -> tuple[str | None, tuple[int, ...] | None]:
        if not isinstance(node, YMap):
            self.problem(
                node,
                "source",
                f"source must be a mapping with event and versions, got {describe(node)}",
            )
            return None, None
        given = self.keyed(node, ("event", "versions"), "source", "in source")
        event = versions = None
        if "event" not in given:
            self.problem(node, "source.event", "source needs 'event' (the canonical event name)")
        else:
            event = self.text(given["event"][1], "source.event", "source.event")
            if event is not None and not _EVENT_NAME.fullmatch(event):
                self.problem(given["event"][1], "source.event", f"not an event name: {event!r}")
                event = None
        if "versions" not in given:
            self.problem(
                node, "source.versions", "source needs 'versions' (a list of schema versions)"
            )
        else:
            versions = self.versions(given["versions"][1])
        return event, versions

    def versions(self, node: YNode) -> tuple[int, ...] | None:
        if not isinstance(node, YSeq) or not node.items:
            self.problem(
                node, "source.versions", f"versions must be a non-empty list, got {describe(node)}"
            )
            return None
        found: list[int] = []
        for n, item in enumerate(node.items):
            value = self.integer(item, f"source.versions[{n}]", "a schema version", 1)
            if value is not None and value in found:
                self.problem(item, f"source.versions[{n}]", f"version {value} is listed twice")
            elif value is not None:
                found.append(value)
        return tuple(found) if len(found) == len(node.items) else None

    def parse_lookups(self, node: YNode) -> None:
        if not isinstance(node, YMap):
            self.problem(
                node, "lookups", f"lookups must map table names to tables, got {describe(node)}"
            )
            return
        for name, key_node, table in _items(node):
            field = f"lookups.{name}"
            if not name.isidentifier():
                self.problem(key_node, field, f"lookup table names are identifiers, got {name!r}")
            if not isinstance(table, YMap):
                self.problem(
                    table, field, f"a lookup table maps keys to values, got {describe(table)}"
                )
                continue
            entries: dict[str, Any] = {}
            for key, _, value in _items(table):
                if isinstance(value, YScalar):
                    entries[key] = value.value
                else:
                    self.problem(
                        value,
                        f"{field}.{key}",
                        f"lookup values are scalars, got {describe(value)}",
                    )
            self.lookups[name] = entries

    def output(self, node: YNode) -> ObjectValue | None:
        if isinstance(node, YMap) and not _is_directive(node):
            return self.plain_object(node, "", False)
        if isinstance(node, YMap) and node.key_names() == ["object"]:
            value = self.value(node, "", False)
            return value if isinstance(value, ObjectValue) else None
        self.problem(
            node, "output", f"output must be an object (a YAML mapping), got {describe(node)}"
        )
        return None

    # -- values --------------------------------------------------------------------------------

    def value(self, node: YNode, out: str, in_each: bool) -> Value:
        if isinstance(node, YSeq):
            items = tuple(
                self.value(item, f"{out}[{n}]", in_each) for n, item in enumerate(node.items)
            )
            return ListValue(items, PLAIN, _pos(node))
        if isinstance(node, YMap):
            if _is_directive(node):
                return self.directive(node, out, in_each)
            return self.plain_object(node, out, in_each)
        self.check_constant(node, out)
        return Const(node.value, PLAIN, _pos(node))

    def check_constant(self, node: YScalar, out: str) -> None:
        """Catch constants that were surely meant as a path or a template."""
        text = node.value
        if not isinstance(text, str):
            return
        if "{{" in text:
            self.problem(
                node,
                _field(out),
                f"the constant {text!r} contains '{{{{': write "
                f"{{template: {text!r}}} for a template, or {{literal: ...}} for the text",
            )
            return
        try:
            path = parse_path(text)
        except ValueError:
            return
        rooted = path.anchor != "scope" and text != "$"  # "$" alone is a currency sign
        if rooted or (len(path.steps) > 1 and path.steps[0] in _EVENT_ROOTS):
            self.problem(
                node,
                _field(out),
                f"the constant {text!r} looks like a path: write "
                f"{{path: {text}}} to read it, or {{literal: {text!r}}} for the text",
            )

    def plain_object(self, node: YMap, out: str, in_each: bool) -> ObjectValue:
        for key, key_node, _ in _items(node):
            near = [d for d in _FUZZY if is_near(key, d)]
            if near:
                self.problem(
                    key_node,
                    _field(_join(out, key)),
                    f"{key!r} looks like the directive key "
                    f"{near[0]!r} misspelt; if it really is an output field, write this "
                    "object as {object: {...}}",
                )
        return self.object_fields(node, out, in_each, PLAIN)

    def object_fields(self, node: YMap, out: str, in_each: bool, mods: Modifiers) -> ObjectValue:
        fields = tuple(
            (key, self.value(value, _join(out, key), in_each)) for key, _, value in _items(node)
        )
        return ObjectValue(fields, mods, _pos(node))

    def directive(self, node: YMap, out: str, in_each: bool) -> Value:
        field = _field(out)
        heads = [key for key in node.key_names() if key in HEADS]
        if len(heads) != 1:
            what = "no head" if not heads else f"several heads ({', '.join(heads)})"
            self.problem(
                node,
                field,
                f"a directive has exactly one of {', '.join(HEADS)}; this one has {what}",
            )
            return Const(None, PLAIN, _pos(node))
        head = heads[0]
        allowed = (head, *COMPANIONS.get(head, ()), *MODIFIERS)
        where = f"in a {head!r} directive"
        given = self.keyed(node, allowed, field, where, _companion_hint)
        mods = self.modifiers(given, out, in_each)
        body = given[head][1]
        pos = _pos(node)
        if head == "path":
            path = self.path(body, field, in_each)
            return PathValue(path, mods, pos) if path else Const(None, PLAIN, pos)
        if head == "coalesce":
            return self.coalesce(body, field, in_each, mods, pos)
        if head == "template":
            return self.template(body, field, in_each, mods, pos)
        if head == "literal":
            return Const(to_python(body), mods, pos)
        if head == "if":
            return self.conditional(given, out, in_each, mods, pos)
        if head == "each":
            return self.each(given, out, in_each, mods, pos)
        if not isinstance(body, YMap):
            self.problem(
                body, field, f"object takes a mapping of output fields, got {describe(body)}"
            )
            return Const(None, PLAIN, pos)
        return self.object_fields(body, out, in_each, mods)

    def modifiers(self, given: Entries, out: str, in_each: bool) -> Modifiers:
        field = _field(out)
        transforms: tuple[TransformCall, ...] = ()
        default: Any = UNDEFINED
        drop_null = required = False
        if "transform" in given:
            transforms = self.pipeline(given["transform"][1], out, in_each)
        if "default" in given:
            node = given["default"][1]
            if isinstance(node, YScalar):
                self.check_constant(node, out)
            default = to_python(node)
        if "drop_null" in given:
            drop_null = self.boolean(given["drop_null"][1], field, "drop_null")
        if "required" in given:
            required = self.boolean(given["required"][1], field, "required")
        if required and "default" in given:
            self.problem(
                given["required"][0],
                field,
                "a field with a default can never be missing: drop 'required' or 'default'",
            )
        return Modifiers(transforms, default, drop_null, required)

    def pipeline(self, node: YNode, out: str, in_each: bool) -> tuple[TransformCall, ...]:
        steps = node.items if isinstance(node, YSeq) else (node,)
        calls = (self.transform_call(step, out, in_each) for step in steps)
        return tuple(call for call in calls if call is not None)

    def transform_call(self, node: YNode, out: str, in_each: bool) -> TransformCall | None:
        field = _field(out)
        args: tuple[Value, ...] = ()
        kwargs: tuple[tuple[str, Value], ...] = ()
        if isinstance(node, YScalar) and isinstance(node.value, str):
            name = node.value
        elif isinstance(node, YMap) and len(node.items) == 1:
            ((key, body),) = node.items
            name = str(key.value)
            if isinstance(body, YSeq):
                args = tuple(self.value(item, out, in_each) for item in body.items)
            elif isinstance(body, YMap):
                kwargs = tuple((k, self.value(v, out, in_each)) for k, _, v in _items(body))
            else:
                args = (self.value(body, out, in_each),)
        else:
            self.problem(
                node,
                field,
                "a transform is a name (trim) or a one-key mapping "
                f"with its arguments ({{truncate: 20}}), got {describe(node)}",
            )
            return None
        tdef = self.registry.get(name)
        if tdef is None:
            hint = did_you_mean(name, self.registry.names())
            self.problem(node, field, f"unknown transform {name!r}{hint}")
            return None
        call = TransformCall(name, args, kwargs, _pos(node))
        try:
            bind(tdef, call, self.lookups, DIRECTIVE_KEYS)
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None
        return call

    def coalesce(self, body: YNode, field: str, in_each: bool, mods: Modifiers, pos: Pos) -> Value:
        if not isinstance(body, YSeq) or len(body.items) < 2:
            self.problem(
                body, field, f"coalesce takes a list of two or more paths, got {describe(body)}"
            )
            return Const(None, PLAIN, pos)
        paths = [self.path(item, field, in_each) for item in body.items]
        found = tuple(path for path in paths if path is not None)
        return Coalesce(found, mods, pos) if len(found) == len(paths) else Const(None, PLAIN, pos)

    def template(self, body: YNode, field: str, in_each: bool, mods: Modifiers, pos: Pos) -> Value:
        text = self.text(body, field, "a template")
        if text is None:
            return Const(None, PLAIN, pos)
        parts: list[str | PathExpr] = []
        start = 0
        for match in _PLACEHOLDER.finditer(text):
            parts.append(text[start : match.start()])
            path = self.path(
                YScalar(match.group(1).strip(), body.line, body.column),
                field,
                in_each,
                wildcard=False,
            )
            if path is None:
                return Const(None, PLAIN, pos)
            parts.append(path)
            start = match.end()
        parts.append(text[start:])
        if any("{{" in part for part in parts if isinstance(part, str)):
            self.problem(body, field, f"unclosed '{{{{' in template {text!r}")
        elif len(parts) == 1:
            self.problem(
                body,
                field,
                f"the template {text!r} has no {{{{path}}}} placeholder; write it as a constant",
            )
        return Template(text, tuple(part for part in parts if part != ""), mods, pos)

    def conditional(
        self,
        given: Entries,
        out: str,
        in_each: bool,
        mods: Modifiers,
        pos: Pos,
    ) -> Value:
        field = _field(out)
        condition = self.condition(given["if"][1], field, in_each)
        if "then" not in given and "else" not in given:
            self.problem(pos, field, "'if' needs 'then' and/or 'else'")
        then = self.value(given["then"][1], out, in_each) if "then" in given else None
        otherwise = self.value(given["else"][1], out, in_each) if "else" in given else None
        if condition is None:
            return Const(None, PLAIN, pos)
        return Conditional(condition, then, otherwise, mods, pos)

    def condition(self, node: YNode, field: str, in_each: bool) -> Condition | None:
        if not isinstance(node, YMap):
            self.problem(
                node,
                field,
                "a condition is {path: ..., exists|blank|equals|in|not_equals"
                f"|not_in: ...}}, got {describe(node)}",
            )
            return None
        given = self.keyed(node, ("path", *_CONDITION_OPS), field, "in a condition")
        ops = [key for key in given if key in _CONDITION_OPS]
        if "path" not in given or len(ops) != 1:
            self.problem(
                node,
                field,
                f"a condition has a 'path' and exactly one of {', '.join(_CONDITION_OPS)}",
            )
            return None
        path = self.path(given["path"][1], field, in_each, wildcard=False)
        op_key = ops[0]
        arg = given[op_key][1]
        negate = op_key.startswith("not_")
        op: ConditionOp
        operand: Any = None
        if op_key in ("exists", "blank"):
            op = "exists" if op_key == "exists" else "blank"
            negate = not self.boolean(arg, field, op_key)
        elif op_key in ("equals", "not_equals"):
            op = "equals"
            operand = self.scalar(arg, field, op_key)
        else:
            op = "in"
            if not isinstance(arg, YSeq) or not arg.items:
                self.problem(arg, field, f"{op_key} takes a non-empty list of constants")
                return None
            operand = tuple(self.scalar(item, field, op_key) for item in arg.items)
        if path is None:
            return None
        return Condition(path, op, operand, negate, _pos(node))

    def scalar(self, node: YNode, field: str, what: str) -> Any:
        if isinstance(node, YScalar):
            return node.value
        self.problem(node, field, f"{what} compares with constants, got {describe(node)}")
        return None

    def each(
        self,
        given: Entries,
        out: str,
        in_each: bool,
        mods: Modifiers,
        pos: Pos,
    ) -> Value:
        field = _field(out)
        source = self.path(given["each"][1], field, in_each)
        if "as" not in given:
            self.problem(pos, field, "'each' needs 'as' (the shape of one output item)")
            return Const(None, PLAIN, pos)
        item = self.value(given["as"][1], f"{out}[*]", True)
        if source is None:
            return Const(None, PLAIN, pos)
        return Each(source, item, mods, pos)


def _items(node: YMap) -> list[tuple[str, YScalar, YNode]]:
    return [(str(key.value), key, value) for key, value in node.items]


def _companion_hint(key: str) -> str:
    owner = next((head for head, keys in COMPANIONS.items() if key in keys), None)
    return f"; {key!r} goes with {owner!r}" if owner else ""


def _is_directive(node: YMap) -> bool:
    return any(key.value in DIRECTIVE_KEYS for key, _ in node.items)


def _join(out: str, key: str) -> str:
    return f"{out}.{key}" if out else key


def _field(out: str) -> str:
    return f"output.{out}" if out else "output"


def _pos(node: YNode) -> Pos:
    return Pos(node.line, node.column)


def _quote_hint(node: YNode) -> str:
    if not isinstance(node, YScalar) or not node.plain or node.value is None:
        return ""
    shown = str(node.value).lower() if isinstance(node.value, bool) else str(node.value)
    return f' (quote it: "{shown}")'


def _raise(problems: list[Problem], file: str | None) -> MappingError:
    if len(problems) == 1:
        return MappingError(problems[0].message, location=problems[0].location)
    return MappingError(
        f"{len(problems)} problems in the mapping file",
        location=Location(file=file),
        problems=problems,
    )


def _default_registry(registry: TransformRegistry | None) -> TransformRegistry:
    if registry is not None:
        return registry
    from martech_bus.mapping.transforms import REGISTRY

    return REGISTRY


def spec_from_tree(
    root: YNode, *, file: str | None = None, registry: TransformRegistry | None = None
) -> MappingSpec:
    """Build and check a spec from a document tree; all problems are raised together."""
    parser = _Parser(file, _default_registry(registry))
    spec = parser.parse(root)
    if spec is None:
        raise _raise(parser.problems, file)
    return spec


def spec_from_dict(
    data: Mapping[str, Any], *, file: str | None = None, registry: TransformRegistry | None = None
) -> MappingSpec:
    """A spec from plain data (as if loaded from YAML, without line numbers)."""
    return spec_from_tree(from_python(data), file=file, registry=registry)


def parse_mapping(
    text: str,
    *,
    file: str | None = None,
    registry: TransformRegistry | None = None,
    max_bytes: int | None = None,
) -> MappingSpec:
    """A spec from YAML text."""
    from martech_bus.yamlfile.loader import parse_yaml

    return spec_from_tree(
        parse_yaml(text, file=file, max_bytes=max_bytes, error=MappingError),
        file=file,
        registry=registry,
    )


def load_mapping(
    path: str | Path, *, registry: TransformRegistry | None = None, max_bytes: int | None = None
) -> MappingSpec:
    """A spec from a mapping file."""
    from martech_bus.yamlfile.loader import read_yaml_file

    tree = read_yaml_file(path, max_bytes=max_bytes, error=MappingError)
    return spec_from_tree(tree, file=str(path), registry=registry)


def load_compiled(
    path: str | Path, *, registry: TransformRegistry | None = None, max_bytes: int | None = None
) -> CompiledMapping:
    """Load, check and compile a mapping file."""
    from martech_bus.mapping.compiler import compile_mapping

    return compile_mapping(
        load_mapping(path, registry=registry, max_bytes=max_bytes), registry=registry
    )
