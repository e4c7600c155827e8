"""Avro schema definitions: strict checking, parsing, canonical form and fingerprints.

fastavro's ``parse_schema`` accepts duplicate field names, invalid names, defaults
that do not match a union's first branch, nested unions and empty records; a
catalogue must not. ``check_schema`` walks the definition and reports every
problem with its place inside the schema (``OrderCompleted.properties.total``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeGuard

from martech_bus.errors import Location, Problem, SchemaError

PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
NAMED_KINDS: Final = frozenset({"record", "error", "enum", "fixed"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: Value ranges Avro's int and long can hold; fastavro writes out-of-range values silently.
INT_RANGES: Final = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
#: Largest finite value an Avro float (IEEE 754 single precision) holds.
FLOAT32_MAX: Final = 3.4028234663852886e38


def read_schema_file(path: str | Path) -> Any:
    """Read a ``.avsc`` file as JSON; a syntax error names file, line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            f"cannot read schema file: {exc.strerror or exc}", location=Location(file=str(p))
        ) from None
    except UnicodeDecodeError as exc:
        raise SchemaError(
            f"schema file is not UTF-8: {exc.reason}", location=Location(file=str(p))
        ) from None
    return loads_schema(text, file=str(p))


def loads_schema(text: str, *, file: str | None = None) -> Any:
    """Parse schema JSON text; a syntax error names the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaError(
            f"invalid JSON: {exc.msg}",
            location=Location(file=file, line=exc.lineno, column=exc.colno),
        ) from None


def as_schema_json(schema: Any, *, file: str | None = None) -> Any:
    """Accept JSON text or an already-decoded schema; return the decoded form."""
    if isinstance(schema, str) and schema.strip()[:1] in ("{", "[", '"'):
        return loads_schema(schema, file=file)
    return schema


def full_name(name: str, namespace: str | None) -> str:
    """Resolve a name against the enclosing namespace (Avro spec, "Names")."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


class _Checker:
    """One walk over a schema definition collecting every problem."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.named: dict[str, Any] = {}

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(message, Location(file=self.file, path=where or None)))

    def check_name(self, name: Any, where: str, kind: str) -> TypeGuard[str]:
        if not isinstance(name, str) or not name:
            self.problem(where, f"{kind} name must be a non-empty string, got {name!r}")
            return False
        parts = name.split(".")
        if not all(_NAME.match(part) for part in parts):
            self.problem(
                where,
                f"invalid {kind} name {name!r}: each part must start with a letter or _ "
                "and contain only letters, digits and _",
            )
            return False
        return True

    def walk(self, schema: Any, where: str, namespace: str | None) -> None:
        if isinstance(schema, str):
            if (
                schema not in PRIMITIVES
                and full_name(schema, namespace) not in self.named
                and (schema not in self.named)
            ):
                self.problem(
                    where, f"unknown type {schema!r} (not a primitive nor a type defined earlier)"
                )
            return
        if isinstance(schema, list):
            self.walk_union(schema, where, namespace)
            return
        if not isinstance(schema, Mapping):
            self.problem(
                where,
                f"a schema must be a type name, an object or a union list, got {type(schema).__name__}",
            )
            return
        kind = schema.get("type")
        if isinstance(kind, str) and kind in NAMED_KINDS:
            self.walk_named(schema, kind, where, namespace)
        elif kind == "array":
            if "items" not in schema:
                self.problem(where, "array schema needs 'items'")
            else:
                self.walk(schema["items"], f"{where}[]", namespace)
        elif kind == "map":
            if "values" not in schema:
                self.problem(where, "map schema needs 'values'")
            else:
                self.walk(schema["values"], f"{where}{{}}", namespace)
        elif isinstance(kind, str | list | Mapping):
            self.walk(kind, where, namespace)
            self.check_logical(schema, where)
        else:
            self.problem(where, f"schema object has no valid 'type': {kind!r}")

    def walk_union(self, branches: list[Any], where: str, namespace: str | None) -> None:
        seen: set[str] = set()
        for i, branch in enumerate(branches):
            here = f"{where}<{i}>"
            if isinstance(branch, list):
                self.problem(here, "a union may not directly contain another union")
                continue
            self.walk(branch, here, namespace)
            key = self.branch_key(branch, namespace)
            if key in seen:
                self.problem(here, f"union contains {key!r} more than once")
            seen.add(key)

    def branch_key(self, branch: Any, namespace: str | None) -> str:
        if isinstance(branch, str):
            return branch if branch in PRIMITIVES else full_name(branch, namespace)
        if isinstance(branch, Mapping):
            kind = branch.get("type")
            if kind in NAMED_KINDS and isinstance(branch.get("name"), str):
                return full_name(branch["name"], branch.get("namespace", namespace))
            if isinstance(kind, str):
                return kind
        return repr(branch)

    def walk_named(
        self, schema: Mapping[str, Any], kind: str, where: str, namespace: str | None
    ) -> None:
        name = schema.get("name")
        if not self.check_name(name, where, kind):
            return
        ns = schema.get("namespace", namespace)
        if ns is not None and ns != "" and not self.check_name(ns, where, "namespace"):
            return
        qualified = full_name(name, ns or None)
        here = where or name.rsplit(".", 1)[-1]
        if qualified in self.named:
            self.problem(here, f"type {qualified!r} is defined more than once")
        self.named[qualified] = schema
        inner_ns = qualified.rsplit(".", 1)[0] if "." in qualified else None
        for alias in schema.get("aliases", []) or []:
            self.check_name(alias, here, "alias")
        if kind in ("record", "error"):
            self.walk_fields(schema, here, inner_ns)
        elif kind == "enum":
            self.check_enum(schema, here)
        else:
            size = schema.get("size")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                self.problem(
                    here, f"fixed {qualified!r} needs a non-negative integer 'size', got {size!r}"
                )
            self.check_logical(schema, here)

    def walk_fields(self, schema: Mapping[str, Any], where: str, namespace: str | None) -> None:
        fields = schema.get("fields")
        if not isinstance(fields, list):
            self.problem(where, "record needs a 'fields' list")
            return
        seen: set[str] = set()
        for i, field in enumerate(fields):
            if not isinstance(field, Mapping):
                self.problem(
                    f"{where}.fields[{i}]", "a field must be an object with 'name' and 'type'"
                )
                continue
            name = field.get("name")
            here = f"{where}.{name}" if isinstance(name, str) else f"{where}.fields[{i}]"
            if not self.check_name(name, here, "field"):
                continue
            if "." in name:
                self.problem(here, f"field name {name!r} may not contain '.'")
            if name in seen:
                self.problem(here, f"duplicate field name {name!r}")
            seen.add(name)
            if "type" not in field:
                self.problem(here, "field has no 'type'")
                continue
            self.walk(field["type"], here, namespace)
            if "default" in field:
                reason = self.default_error(field["type"], field["default"], namespace)
                if reason:
                    self.problem(here, f"invalid default {field['default']!r}: {reason}")

    def check_enum(self, schema: Mapping[str, Any], where: str) -> None:
        symbols = schema.get("symbols")
        if not isinstance(symbols, list) or not symbols:
            self.problem(where, "enum needs a non-empty 'symbols' list")
            return
        for symbol in symbols:
            if not isinstance(symbol, str) or not _NAME.match(symbol):
                self.problem(where, f"invalid enum symbol {symbol!r}")
        if len(set(map(str, symbols))) != len(symbols):
            self.problem(where, "enum symbols must be unique")
        if "default" in schema and schema["default"] not in symbols:
            self.problem(where, f"enum default {schema['default']!r} is not one of its symbols")

    def check_logical(self, schema: Mapping[str, Any], where: str) -> None:
        if schema.get("logicalType") != "decimal":
            return
        precision, scale = schema.get("precision"), schema.get("scale", 0)
        if not isinstance(precision, int) or isinstance(precision, bool) or precision < 1:
            self.problem(where, f"decimal precision must be a positive integer, got {precision!r}")
        elif not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= precision:
            self.problem(
                where,
                f"decimal scale must be an integer from 0 to precision {precision}, got {scale!r}",
            )

    def default_error(self, schema: Any, value: Any, namespace: str | None) -> str | None:
        """Why ``value`` is not a valid JSON default for ``schema`` (None when it is)."""
        if isinstance(schema, list):
            # Avro: a union's default must match its FIRST branch.
            return self.default_error(schema[0], value, namespace) if schema else "empty union"
        if isinstance(schema, str):
            if schema not in PRIMITIVES:
                named = self.named.get(full_name(schema, namespace)) or self.named.get(schema)
                return self.default_error(named, value, namespace) if named is not None else None
            return _primitive_default_error(schema, value)
        if not isinstance(schema, Mapping):
            return None
        kind = schema.get("type")
        if kind in ("record", "error"):
            if not isinstance(value, Mapping):
                return "a record default must be a JSON object"
            for field in schema.get("fields", []):
                if not isinstance(field, Mapping) or "type" not in field:
                    continue
                if field.get("name") in value:
                    reason = self.default_error(field["type"], value[field["name"]], namespace)
                    if reason:
                        return f"field {field['name']!r}: {reason}"
                elif "default" not in field:
                    return f"field {field.get('name')!r} is missing and has no default"
            return None
        if kind == "enum":
            return (
                None if value in (schema.get("symbols") or []) else "not one of the enum's symbols"
            )
        if kind == "fixed":
            size = schema.get("size")
            return (
                None
                if isinstance(value, str) and len(value) == size
                else f"expected a string of {size} bytes"
            )
        if kind == "array":
            if not isinstance(value, list):
                return "an array default must be a JSON array"
            return next(
                (r for v in value if (r := self.default_error(schema.get("items"), v, namespace))),
                None,
            )
        if kind == "map":
            if not isinstance(value, Mapping):
                return "a map default must be a JSON object"
            return next(
                (
                    r
                    for v in value.values()
                    if (r := self.default_error(schema.get("values"), v, namespace))
                ),
                None,
            )
        return self.default_error(kind, value, namespace)


def _primitive_default_error(kind: str, value: Any) -> str | None:
    ok: bool
    if kind == "null":
        ok = value is None
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("int", "long"):
        low, high = INT_RANGES[kind]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif kind in ("float", "double"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:  # string, bytes
        ok = isinstance(value, str)
    return None if ok else f"expected {kind}, got {type(value).__name__}"


def check_schema(schema: Any, *, file: str | None = None) -> None:
    """Raise SchemaError listing every problem in ``schema`` (decoded JSON)."""
    checker = _Checker(file)
    checker.walk(schema, "", None)
    if checker.problems:
        count = len(checker.problems)
        raise SchemaError(
            f"invalid Avro schema ({count} problem{'s' if count > 1 else ''})",
            location=Location(file=file),
            problems=checker.problems,
        )


def parse_schema(schema: Any, *, file: str | None = None) -> Any:
    """Check ``schema`` strictly, then parse it with fastavro (the parsed form codecs use)."""
    import fastavro  # lazy: ~45 ms at import

    decoded = as_schema_json(schema, file=file)
    check_schema(decoded, file=file)
    try:
        return fastavro.parse_schema(decoded)
    except Exception as exc:  # fastavro raises several unrelated types
        raise SchemaError(f"invalid Avro schema: {exc}", location=Location(file=file)) from None


@dataclass(frozen=True)
class Fingerprints:
    """Avro Parsing Canonical Form and its fingerprints (hex), plus a content digest.

    The Parsing Canonical Form drops logical types, defaults and custom
    attributes, so two schemas differing only in a decimal's scale share it.
    ``content`` hashes everything but docs: it identifies a schema *version*
    (schema ids, "was this published version edited?").

    ``fingerprints(schema, deferred=True)`` knows ``content`` at once and computes
    the other fields on first access: they need fastavro (~45 ms to import), which
    loading a catalogue for the sprint path never needs otherwise.
    """

    canonical: str
    sha256: str
    rabin64: str
    content: str

    def __getattr__(self, name: str) -> str:
        # Reached only for a field a deferred instance has not computed yet.
        schema = self.__dict__.get("_schema", _NOT_DEFERRED)
        if schema is _NOT_DEFERRED or name not in _DEFERRED_FIELDS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        computed = dict(zip(_DEFERRED_FIELDS, _canonical_forms(schema), strict=True))
        self.__dict__.update(computed)  # two threads may both compute it: the same values
        self.__dict__.pop("_schema", None)
        return computed[name]


_DEFERRED_FIELDS: Final = ("canonical", "sha256", "rabin64")
_NOT_DEFERRED: Final = object()


def fingerprints(schema: Any, *, deferred: bool = False) -> Fingerprints:
    """Parsing Canonical Form with its SHA-256 and CRC-64-AVRO (Rabin) fingerprints.

    ``deferred=True``: only ``content`` now, the rest on first use (see ``Fingerprints``).
    """
    decoded = as_schema_json(schema)
    content = content_digest(decoded)
    if deferred:
        made = object.__new__(Fingerprints)
        made.__dict__.update(content=content, _schema=decoded)
        return made
    return Fingerprints(*_canonical_forms(decoded), content)


def _canonical_forms(decoded: Any) -> tuple[str, str, str]:
    from fastavro.schema import fingerprint, to_parsing_canonical_form

    canonical = to_parsing_canonical_form(decoded)
    return canonical, fingerprint(canonical, "SHA-256"), fingerprint(canonical, "CRC-64-AVRO")


def content_digest(schema: Any) -> str:
    """SHA-256 (hex) of the schema JSON with sorted keys and without ``doc`` attributes."""
    import hashlib

    text = json.dumps(_without_docs(schema), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _without_docs(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_docs(v) for k, v in value.items() if k != "doc"}
    if isinstance(value, list):
        return [_without_docs(v) for v in value]
    return value
