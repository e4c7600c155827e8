"""Adapters on disk: ``adapters/<vendor>/`` -> a checked ``Adapter`` that renders request bodies.

A folder holds ``adapter.yaml`` (the manifest), ``mappings/*.yaml`` (the pinned
mapping files), ``payload.schema.json`` (optional: JSON Schema of the request
body) and ``fixtures/<case>.input.json`` + ``<case>.expected.json`` (canonical
event in, exact request body out). Loading checks all of it and raises one
``ConfigError`` listing every problem; mappings compile on first use.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from martech_bus.adapter._reader import paired_fixtures
from martech_bus.adapter.manifest import Manifest
from martech_bus.adapter.parser import ManifestParser
from martech_bus.config import Paths
from martech_bus.errors import ConfigError, Location, MappingError, Problem
from martech_bus.mapping.compiler import CompiledMapping, compile_mapping
from martech_bus.mapping.hints import did_you_mean
from martech_bus.mapping.spec import MappingSpec

MANIFEST: Final = "adapter.yaml"
PAYLOAD_SCHEMA: Final = "payload.schema.json"

BodyBuilder = Callable[[list[Mapping[str, Any]]], Any]


@dataclass(frozen=True, slots=True)
class Fixture:
    """One contract case: a canonical event in, the exact request body out."""

    name: str
    input: Path
    expected: Path

    def load_input(self) -> Any:
        return _read_json(self.input)

    def load_expected(self) -> Any:
        return _read_json(self.expected)


@dataclass(frozen=True, slots=True)
class Adapter:
    """A loaded vendor integration: its manifest, pinned mappings and request-body builder."""

    manifest: Manifest
    directory: Path
    specs: Mapping[str, MappingSpec]
    payload_schema: Any | None = None
    # compiled mappings and the payload validator, built on first use
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.manifest.name

    def events(self) -> list[str]:
        """The canonical event types this adapter maps, in manifest order."""
        return list(self.specs)

    def mapping_for(self, event_type: str) -> CompiledMapping:
        """The pinned mapping for ``event_type``, compiled once."""
        key = "mapping:" + event_type
        found = self._cache.get(key)
        if found is None:
            spec = self.specs.get(event_type)
            if spec is None:
                raise ConfigError(
                    f"adapter {self.name!r} maps no {event_type!r} events; it maps "
                    f"{', '.join(self.specs)}",
                    location=Location(file=self.manifest.file, path="mappings"),
                )
            found = self._cached(key, lambda: compile_mapping(spec))
        mapping: CompiledMapping = found
        return mapping

    def _envelope(self) -> CompiledMapping | None:
        spec = self.manifest.batch.envelope
        if spec is None:
            return None
        envelope: CompiledMapping = self._cache.get("envelope") or self._cached(
            "envelope", lambda: compile_mapping(spec)
        )
        return envelope

    def _cached(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:  # two threads must not compile (or half-publish) the same thing twice
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def build_body(
        self, payloads: list[Mapping[str, Any]], params: Mapping[str, str] | None = None
    ) -> Any:
        """The request body for one batch of mapped payloads (the envelope applied).

        ``params`` are the endpoint params with secrets resolved; without them a
        secret reads as its reference text (``"env:AMPLITUDE_API_KEY"``), which
        keeps renders reproducible and secret-free.
        """
        most = self.manifest.batch.max_events
        if not 1 <= len(payloads) <= most:
            raise ValueError(
                f"adapter {self.name!r} sends 1 to {most} payloads per request, got {len(payloads)}"
            )
        envelope = self._envelope()
        if envelope is None:
            return payloads[0]
        values = self.manifest.endpoint.unresolved_params()
        if params:
            values.update(params)
        return envelope({"items": payloads, "params": values})

    def body_builder(self, params: Mapping[str, str] | None = None) -> BodyBuilder:
        """``build_body`` with resolved params bound: the HTTP sink's ``build_body``."""
        bound = dict(params or {})

        def build(payloads: list[Mapping[str, Any]]) -> Any:
            return self.build_body(payloads, bound)

        return build

    def render(self, event: Mapping[str, Any]) -> Any:
        """The exact JSON body the vendor receives for one validated event (datum form)."""
        event_type = str(event.get("event_type"))
        mapping = self.mapping_for(event_type)
        version = event.get("schema_version")
        if not isinstance(version, int) or not mapping.accepts(event_type, version):
            spec = mapping.spec
            accepted = ", ".join(str(v) for v in spec.versions)
            raise MappingError(
                f"the mapping accepts {event_type} schema versions {accepted}; "
                f"the event is version {version}",
                location=Location(
                    file=spec.file,
                    version=spec.mapping_version,
                    event_id=_text_or_none(event.get("event_id")),
                ),
            )
        return self.build_body([mapping(event)])

    def consent_block_reason(self, event: Mapping[str, Any]) -> str | None:
        """None when the manifest's consent purposes allow sending ``event``; else why not."""
        return self.manifest.consent.block_reason(event)

    def check_payload(self, body: Any) -> list[str]:
        """Problems with a request body against ``payload.schema.json`` (``/data/0/event_name: ...``)."""
        if self.payload_schema is None:
            return []
        validator = self._cache.get("validator") or self._cached("validator", self._validator)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        return [f"{_pointer(error.absolute_path)}: {error.message}" for error in errors]

    def _validator(self) -> Any:
        try:  # imported here: only contract tests and CLI checks validate payloads
            jsonschema = importlib.import_module("jsonschema")
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("checking payloads needs jsonschema: pip install jsonschema") from exc
        cls = jsonschema.validators.validator_for(
            self.payload_schema, jsonschema.Draft202012Validator
        )
        return cls(self.payload_schema, format_checker=cls.FORMAT_CHECKER)

    def fixtures(self) -> list[Fixture]:
        """Every ``fixtures/<case>.input.json`` with its ``<case>.expected.json``, by name."""
        return [
            Fixture(name, given, expected)
            for name, given, expected in paired_fixtures(self.directory / "fixtures")
        ]


def _pointer(path: Any) -> str:
    """A JSON pointer (RFC 6901) for a jsonschema error path."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "/" + "/".join(parts) if parts else "/"


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


# -- loading -----------------------------------------------------------------------------------


def load_adapter(path_or_dir: str | Path) -> Adapter:
    """Load an adapter from its folder or its ``adapter.yaml``; ConfigError lists every problem."""
    from martech_bus.mapping.parser import load_mapping
    from martech_bus.yamlfile.loader import read_yaml_file

    path = Path(path_or_dir)
    directory = path.parent if path.name == MANIFEST else path
    manifest_file = directory / MANIFEST
    file = str(manifest_file)
    if not manifest_file.is_file():
        raise ConfigError(
            f"no {MANIFEST} here: an adapter folder holds its manifest",
            location=Location(file=file),
        )
    tree = read_yaml_file(manifest_file, error=ConfigError)
    parser = ManifestParser(file, directory, load_mapping)
    parsed = parser.parse(tree)
    schema = _payload_schema(directory / PAYLOAD_SCHEMA, parser.problems)
    if parsed is None or parser.problems:
        problems = sorted(parser.problems, key=_file_order)
        if len(problems) == 1:
            raise ConfigError(problems[0].message, location=problems[0].location)
        raise ConfigError(
            f"{len(problems)} problems in the adapter",
            location=Location(file=file),
            problems=problems,
        )
    return Adapter(parsed.manifest, directory, parsed.specs, schema)


def _file_order(problem: Problem) -> tuple[str, int, int]:
    where = problem.location
    return (where.file or "", where.line or 0, where.column or 0)


def _payload_schema(path: Path, problems: list[Problem]) -> Any | None:
    if not path.is_file():
        return None
    try:
        schema = _read_json(path)
    except json.JSONDecodeError as exc:
        problems.append(
            Problem(
                f"invalid JSON: {exc.msg}",
                Location(file=str(path), line=exc.lineno, column=exc.colno),
            )
        )
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"cannot read the payload schema: {exc}", Location(file=str(path))))
        return None
    if not isinstance(schema, dict | bool):
        problems.append(
            Problem("a JSON Schema is an object (or a boolean)", Location(file=str(path)))
        )
        return None
    return schema


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else Paths.resolve().adapters_dir


def _adapter_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / MANIFEST).is_file())


def find_adapters(root: str | Path | None = None) -> list[Adapter]:
    """Every adapter under ``root`` (default: ``MARTECH_BUS_ADAPTERS_DIR`` or ``adapters``), by name.

    All are checked before any is returned: one ConfigError lists the problems of every adapter.
    """
    adapters: list[Adapter] = []
    problems: list[Problem] = []
    for directory in _adapter_dirs(_root(root)):
        try:
            adapters.append(load_adapter(directory))
        except ConfigError as exc:
            problems.extend(exc.problems or [Problem(exc.message, exc.location)])
    if problems:
        raise ConfigError(f"{len(problems)} problems in the adapters", problems=problems)
    return adapters


def resolve_adapter(name_or_path: str | Path, root: str | Path | None = None) -> Adapter:
    """An adapter by folder name (``meta_capi``, looked up under ``root``) or by path."""
    text = str(name_or_path)
    base = _root(root)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(".yaml"):
        return load_adapter(text)
    for directory in (base / text, Path(text)):  # a name under root, else a folder here
        if (directory / MANIFEST).is_file():
            return load_adapter(directory)
    known = [p.name for p in _adapter_dirs(base)]
    listing = ", ".join(known) if known else "none"
    raise ConfigError(
        f"no adapter {text!r} in {base}/ (known: {listing}){did_you_mean(text, known)}"
    )
