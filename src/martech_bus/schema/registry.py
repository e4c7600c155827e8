"""The schema registry: subjects, versions, stable ids, fingerprints and compatibility modes.

The embedded registry reads ``schemas/registry.yaml`` and ``schemas/<subject>/v<N>.avsc``.
Loading is all-or-nothing: any problem anywhere raises one SchemaError listing
every problem, so a registry never holds half a catalogue.

Embedded schema ids are derived from the schema's content digest (SHA-256 of
its JSON without docs; 31 bits, so they fit Confluent's positive int32). Not the
Parsing Canonical Form: it drops logical types, so a decimal scale change would
keep its id. They need no
bookkeeping and are the same on every machine; identical schemas share an id,
as in Confluent Schema Registry. When a central registry is configured, its ids
replace them (``with_ids``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from martech_bus.errors import (
    IncompatibleSchemaError,
    Location,
    Problem,
    SchemaError,
    UnknownSchemaError,
)
from martech_bus.schema.avro import (
    Fingerprints,
    as_schema_json,
    check_schema,
    fingerprints,
    read_schema_file,
)

REGISTRY_FILE = "registry.yaml"
DEFAULT_COMPATIBILITY = "BACKWARD"
_VERSION_FILE = re.compile(r"v([1-9][0-9]*)\.avsc\Z")


def embedded_schema_id(content_digest: str) -> int:
    """A stable positive int32 id from a schema's content digest (never 0)."""
    return (int(content_digest[:8], 16) & 0x7FFFFFFF) or 1


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """A subject's metadata from registry.yaml."""

    name: str
    compatibility: str
    owner: str | None
    description: str | None


@dataclass(frozen=True)
class RegisteredSchema:
    """One version of one subject."""

    subject: str
    version: int
    schema_id: int
    schema: Any
    fingerprints: Fingerprints
    path: Path | None = None

    @cached_property
    def parsed(self) -> Any:
        """fastavro's parsed form (parsed on first use, then cached)."""
        from martech_bus.schema.avro import parse_schema

        return parse_schema(self.schema, file=str(self.path) if self.path else None)

    @property
    def record_name(self) -> str:
        """The schema's full record name (namespace.Name)."""
        name = str(self.schema.get("name", ""))
        namespace = self.schema.get("namespace")
        return name if "." in name or not namespace else f"{namespace}.{name}"


@dataclass(frozen=True)
class SchemaRegistry:
    """An immutable view of the catalogue; ``register`` returns a new registry."""

    subjects_info: Mapping[str, SubjectInfo]
    versions_by_subject: Mapping[str, tuple[RegisteredSchema, ...]]
    root: Path | None = None
    _by_id: dict[int, RegisteredSchema] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for versions in self.versions_by_subject.values():
            for entry in versions:
                other = self._by_id.get(entry.schema_id)
                if other is not None and other.fingerprints.content != entry.fingerprints.content:
                    problems.append(
                        Problem(
                            f"schema id {entry.schema_id} collides with {other.subject} v{other.version}",
                            Location(schema=entry.subject, version=entry.version),
                        )
                    )
                self._by_id.setdefault(entry.schema_id, entry)
        if problems:
            raise SchemaError("schema ids collide", problems=problems)

    # -- loading -----------------------------------------------------------------------

    @classmethod
    def load(cls, root: str | Path = "schemas") -> SchemaRegistry:
        """Load the embedded catalogue from ``root`` (all or nothing)."""
        return _CatalogueLoader(Path(root)).load()

    # -- lookups -----------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Subject names, sorted."""
        return sorted(self.versions_by_subject)

    def info(self, subject: str) -> SubjectInfo:
        """A subject's metadata; UnknownSchemaError names the known subjects."""
        try:
            return self.subjects_info[subject]
        except KeyError:
            raise self._unknown_subject(subject) from None

    def versions(self, subject: str) -> tuple[RegisteredSchema, ...]:
        """Every version of ``subject``, oldest first."""
        try:
            return self.versions_by_subject[subject]
        except KeyError:
            raise self._unknown_subject(subject) from None

    def get(self, subject: str, version: int | None = None) -> RegisteredSchema:
        """One version (the latest when ``version`` is None)."""
        versions = self.versions(subject)
        if version is None:
            return versions[-1]
        if (
            isinstance(version, int)
            and not isinstance(version, bool)
            and 1 <= version <= len(versions)
        ):
            return versions[version - 1]
        known = ", ".join(f"v{v.version}" for v in versions)
        raise UnknownSchemaError(
            f"unknown version {version!r} (known: {known})", location=Location(schema=subject)
        )

    def latest(self, subject: str) -> RegisteredSchema:
        """The newest version of ``subject``."""
        return self.get(subject)

    def by_id(self, schema_id: int) -> RegisteredSchema:
        """The schema registered under ``schema_id``."""
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise UnknownSchemaError(f"unknown schema id {schema_id}") from None

    def __iter__(self) -> Iterator[RegisteredSchema]:
        for subject in self.subjects():
            yield from self.versions_by_subject[subject]

    def _unknown_subject(self, subject: str) -> UnknownSchemaError:
        import difflib

        close = difflib.get_close_matches(subject, self.subjects(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return UnknownSchemaError(
            f"unknown event type {subject!r}{hint} (known: {', '.join(self.subjects())})"
        )

    # -- evolution ---------------------------------------------------------------------

    def check_new_version(self, subject: str, schema: Any) -> list[str]:
        """Reasons ``schema`` may not become the next version of ``subject`` (empty = ok)."""
        from martech_bus.schema.compat import check_mode

        decoded = as_schema_json(schema)
        check_schema(decoded)
        previous = [entry.schema for entry in self.versions(subject)]
        result = check_mode(decoded, previous, self.info(subject).compatibility)
        return list(result.messages)

    def register(
        self, subject: str, schema: Any, *, write: bool = False
    ) -> tuple[SchemaRegistry, RegisteredSchema]:
        """Add ``schema`` as the next version of ``subject`` if its mode allows it.

        Returns the new registry and the new entry; an identical schema returns the
        existing entry unchanged (registration is idempotent). ``write=True`` also
        writes ``<root>/<subject>/v<N>.avsc``.
        """
        decoded = as_schema_json(schema)
        check_schema(decoded)
        prints = fingerprints(decoded)
        versions = self.versions(subject)
        for entry in versions:
            if entry.fingerprints.content == prints.content:
                return self, entry
        reasons = self.check_new_version(subject, decoded)
        mode = self.info(subject).compatibility
        if reasons:
            raise IncompatibleSchemaError(
                f"refused: the new version breaks {mode} compatibility",
                location=Location(schema=subject, version=len(versions) + 1),
                problems=[Problem(reason) for reason in reasons],
            )
        version = len(versions) + 1
        path = None
        if write:
            path = _write_version(self.root, subject, version, decoded)
        entry = RegisteredSchema(
            subject, version, embedded_schema_id(prints.content), decoded, prints, path
        )
        updated = dict(self.versions_by_subject)
        updated[subject] = (*versions, entry)
        return SchemaRegistry(self.subjects_info, updated, self.root), entry

    def with_ids(self, ids: Mapping[tuple[str, int], int]) -> SchemaRegistry:
        """A copy using a central registry's ids for the given (subject, version) pairs."""
        updated = {
            subject: tuple(
                replace(entry, schema_id=ids.get((subject, entry.version), entry.schema_id))
                for entry in versions
            )
            for subject, versions in self.versions_by_subject.items()
        }
        return SchemaRegistry(self.subjects_info, updated, self.root)


def _write_version(root: Path | None, subject: str, version: int, schema: Any) -> Path:
    import json

    if root is None:
        raise SchemaError("this registry was not loaded from a directory; cannot write")
    path = root / subject / f"v{version}.avsc"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    return path


class _CatalogueLoader:
    """Reads a catalogue directory, collecting every problem before failing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def fail(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(message, Location(**where)))

    def load(self) -> SchemaRegistry:
        if not self.root.is_dir():
            raise SchemaError(f"schema catalogue directory not found: {self.root}")
        infos = self.read_index()
        versions: dict[str, tuple[RegisteredSchema, ...]] = {}
        on_disk = sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
        )
        for name in on_disk:
            if name not in infos:
                self.fail(
                    f"schema directory {name!r} is not listed in {REGISTRY_FILE}",
                    file=str(self.root / REGISTRY_FILE),
                )
        for subject in infos:
            if subject not in on_disk:
                self.fail(
                    f"subject {subject!r} has no directory {self.root / subject}",
                    file=str(self.root / REGISTRY_FILE),
                )
            else:
                versions[subject] = self.read_versions(subject)
        if self.problems:
            raise SchemaError(
                f"cannot load the schema catalogue at {self.root}",
                problems=self.problems,
            )
        return SchemaRegistry(infos, versions, self.root)

    def read_index(self) -> dict[str, SubjectInfo]:
        from martech_bus.schema.modes import CompatibilityMode  # not .compat: fastavro

        index_path = self.root / REGISTRY_FILE
        raw = _read_yaml(index_path)
        where = str(index_path)
        if not isinstance(raw, Mapping) or not isinstance(raw.get("subjects"), Mapping):
            raise SchemaError(
                "expected a mapping with a 'subjects' mapping", location=Location(file=where)
            )
        defaults = raw.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            raise SchemaError(
                "'defaults' must be a mapping", location=Location(file=where, path="defaults")
            )
        infos: dict[str, SubjectInfo] = {}
        for name, entry in raw["subjects"].items():
            entry = entry or {}
            if not isinstance(entry, Mapping):
                self.fail("a subject entry must be a mapping", file=where, path=f"subjects.{name}")
                continue
            mode = str(
                entry.get("compatibility", defaults.get("compatibility", DEFAULT_COMPATIBILITY))
            )
            try:
                mode = CompatibilityMode.parse(mode).value
            except SchemaError as exc:
                self.fail(exc.message, file=where, path=f"subjects.{name}.compatibility")
            infos[str(name)] = SubjectInfo(
                name=str(name),
                compatibility=mode,
                owner=entry.get("owner", defaults.get("owner")),
                description=entry.get("description"),
            )
        return infos

    def read_versions(self, subject: str) -> tuple[RegisteredSchema, ...]:
        directory = self.root / subject
        found: dict[int, Path] = {}
        for path in sorted(directory.iterdir()):
            match = _VERSION_FILE.match(path.name)
            if match:
                found[int(match.group(1))] = path
            elif path.suffix == ".avsc":
                self.fail("schema files must be named v<N>.avsc (N = 1, 2, ...)", file=str(path))
        if not found:
            self.fail("subject has no v1.avsc", file=str(directory))
            return ()
        missing = [n for n in range(1, max(found) + 1) if n not in found]
        if missing:
            self.fail(
                f"versions must be contiguous; missing {', '.join(f'v{n}' for n in missing)}",
                file=str(directory),
            )
        entries: list[RegisteredSchema] = []
        for version in sorted(found):
            entry = self.read_version(subject, version, found[version])
            if entry is not None:
                entries.append(entry)
        return tuple(entries)

    def read_version(self, subject: str, version: int, path: Path) -> RegisteredSchema | None:
        try:
            schema = read_schema_file(path)
            check_schema(schema, file=str(path))
        except SchemaError as exc:
            self.problems.extend(exc.problems or [Problem(exc.message, exc.location)])
            return None
        if not isinstance(schema, Mapping) or schema.get("type") != "record":
            self.fail("a canonical event schema must be a record", file=str(path))
            return None
        prints = fingerprints(schema, deferred=True)  # the id needs only .content: no fastavro
        return RegisteredSchema(
            subject, version, embedded_schema_id(prints.content), schema, prints, path
        )


def _read_yaml(path: Path) -> Any:
    """registry.yaml through the strict loader: duplicate keys, aliases and YAML 1.1 surprises fail."""
    from martech_bus.yamlfile.loader import read_yaml_file
    from martech_bus.yamlfile.nodes import to_python

    return to_python(read_yaml_file(path, error=SchemaError))
