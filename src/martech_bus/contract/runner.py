"""The contract-check runner: plan named checks over a repository, run them, report each.

``Contract(roots).checks()`` lists every check without running any (a directory
listing, plus git when ``base`` is given); each ``Check.run()`` then does its own
work, sharing what is expensive (the catalogue, each adapter, each source) through
this object. The pytest plugin turns each check into one test item, and
``martech-bus contract-test`` prints them as a table and as JUnit XML.

The checks, by id:

- ``catalogue``, ``schema/<event>/v<N>``, ``compatibility/<event>``: the catalogue loads,
  each version is valid Avro, each subject's versions satisfy its mode (transitive
  modes included); with ``base``, ``base/<event>``: what ``schema check --base`` reports;
- ``adapter/<name>/manifest``, ``.../expiry``, ``.../governance``, ``.../mapping/<file>``,
  ``.../fixture/<case>``, ``.../coverage``: the adapter loads and its manifest is
  complete, it has not expired, its governance scores fit its cadence, every mapping is
  statically valid against every schema version it accepts, every fixture renders to its
  expected body and that body satisfies ``payload.schema.json``, every mapped event has a fixture;
- ``source/<name>/declaration``, ``.../expiry``, ``.../mapping/<file>``,
  ``.../fixture/<case>``, ``.../coverage``: the same for the gateway's inbound sources.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from martech_bus.adapter._reader import EXPECTED_SUFFIX, INPUT_SUFFIX
from martech_bus.contract.model import Check, CheckFailed, CheckResult
from martech_bus.errors import MartechBusError, Problem

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter
    from martech_bus.gateway.normalizer import Normalizer
    from martech_bus.gateway.sources import InboundSource
    from martech_bus.mapping.spec import MappingSpec
    from martech_bus.schema.registry import SchemaRegistry

T = TypeVar("T")

#: Source fixtures are normalized as this buffer record, received at this instant
#: (2026-11-20T14:03:12Z), so derived ids and ``received_at`` are reproducible (docs/gateway.md).

_TEMPORARY: Final = ("sprint", "hybrid")


@dataclass(frozen=True, slots=True)
class ContractRoots:
    """Where the contract lives: the catalogue, and optionally adapters and inbound sources."""

    schemas: Path
    adapters: Path | None = None
    sources: Path | None = None

    @classmethod
    def resolve(
        cls,
        schemas: str | Path | None = None,
        adapters: str | Path | None = None,
        sources: str | Path | None = None,
        *,
        base_dir: Path | None = None,
    ) -> ContractRoots:
        """Explicit paths > ``MARTECH_BUS_*_DIR`` > ``schemas``, ``adapters``, ``sources``.

        Relative paths are taken from ``base_dir`` when given (the pytest rootdir), else
        from the working directory, and stay relative so messages stay short.
        """
        from martech_bus.config import Paths, setting

        paths = Paths.resolve(schemas_dir=schemas, adapters_dir=adapters)
        found = Path(setting("sources_dir", None if sources is None else str(sources)) or "sources")
        base = base_dir or Path()
        return cls(base / paths.schemas_dir, base / paths.adapters_dir, base / found)


class _Failed:
    """A cached failure: what went wrong, and which check reports it in full."""

    def __init__(self, error: MartechBusError, reported_by: str) -> None:
        self.error = error
        self.reported_by = reported_by


class _Unavailable(CheckFailed):
    """Something a check needs did not load; ``error`` is why, reported in full elsewhere."""

    def __init__(self, what: str, failed: _Failed) -> None:
        super().__init__(f"{what} does not load; see check {failed.reported_by}")
        self.error = failed.error


class Contract:
    """Plans and runs the contract checks of one repository (see the module docstring).

    ``today`` decides expiry (default: today in UTC); ``base`` is a git revision to
    compare the catalogue with, as ``martech-bus schema check --base`` does.
    """

    def __init__(
        self, roots: ContractRoots, *, today: date | None = None, base: str | None = None
    ) -> None:
        self.roots = roots
        self.today = today or datetime.now(UTC).date()
        self.base = base
        #: Why the catalogue could not be compared with ``base`` (set by ``checks()``), if it could not.
        self.base_error: str | None = None
        self._memo: dict[str, Any] = {}

    # -- planning --------------------------------------------------------------------------

    def checks(self) -> list[Check]:
        """Every check, in report order: schemas, the base comparison, adapters, sources."""
        planned = self._schema_checks()
        if self.base is not None:
            planned += self._base_checks(self.base)
        for folder in _folders(self.roots.adapters, "adapter.yaml"):
            planned += self._adapter_checks(folder)
        for folder in _folders(self.roots.sources, "source.yaml"):
            planned += self._source_checks(folder)
        return planned

    def run(self, checks: Iterable[Check] | None = None) -> list[CheckResult]:
        """Run ``checks`` (default: all) and return one result each, in order."""
        return [check.run() for check in (self.checks() if checks is None else checks)]

    def _check(
        self,
        prefix: str,
        name: str,
        kind: str,
        subject: str,
        folder: Path,
        path: Path,
        body: Callable[[], str],
    ) -> Check:
        id = f"{prefix}/{name}" if prefix else name
        return Check(id, name, kind, subject, self._shown(folder), folder, path, body)

    def _shown(self, path: Path) -> str:
        """``path`` as people read it: relative to the working directory when it is inside it."""
        try:
            return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return str(path)

    def _cached(self, key: str, reported_by: str, build: Callable[[], T]) -> T:
        """``build()`` once; a failure is remembered and raised as "see check <reported_by>"."""
        if key not in self._memo:
            try:
                self._memo[key] = build()
            except MartechBusError as exc:
                self._memo[key] = _Failed(exc, reported_by)
        found = self._memo[key]
        if isinstance(found, _Failed):
            raise _Unavailable(key, found)
        value: T = found
        return value

    @staticmethod
    def _in_full(load: Callable[[], T]) -> T:
        """``load()`` for the check that reports its failure: the whole error, not a pointer."""
        try:
            return load()
        except _Unavailable as exc:
            raise CheckFailed(str(exc.error)) from None

    # -- the catalogue -----------------------------------------------------------------------

    def registry(self) -> SchemaRegistry:
        """The catalogue, loaded once (CheckFailed when it does not load)."""
        from martech_bus.schema.registry import SchemaRegistry

        return self._cached(
            "the schema catalogue", "catalogue", lambda: SchemaRegistry.load(self.roots.schemas)
        )

    def _catalogue_problems(self) -> list[Problem]:
        from martech_bus.schema.evolution import check_catalogue

        registry = self.registry()
        return self._cached(
            "the compatibility checks", "catalogue", lambda: check_catalogue(registry)
        )

    def _schema_checks(self) -> list[Check]:
        root = self.roots.schemas
        checks = [
            self._check(
                "", "catalogue", "catalogue", "the schema catalogue", root, root, self._catalogue
            )
        ]
        for subject in _subject_dirs(root):
            for version, path in _version_files(subject):
                checks.append(
                    self._check(
                        "",
                        f"schema/{subject.name}/v{version}",
                        "schema",
                        f"schema {subject.name} v{version}",
                        root,
                        path,
                        partial(_valid_avro, path),
                    )
                )
            checks.append(
                self._check(
                    "",
                    f"compatibility/{subject.name}",
                    "compatibility",
                    f"schema {subject.name} versions",
                    root,
                    subject,
                    partial(self._compatibility, subject.name),
                )
            )
        return checks

    def _catalogue(self) -> str:
        registry = self._in_full(self.registry)
        versions = sum(1 for _ in registry)
        return f"{len(registry.subjects())} subjects, {versions} versions"

    def _compatibility(self, subject: str) -> str:
        registry = self.registry()
        if subject not in registry.subjects():
            raise CheckFailed(f"{subject!r} is not listed in registry.yaml; see check catalogue")
        mode = registry.info(subject).compatibility
        count = len(registry.versions(subject))
        problems = [p for p in self._catalogue_problems() if p.location.schema == subject]
        if problems:
            raise CheckFailed(_lines(f"{subject}: versions break {mode}", problems))
        return f"{mode}, {count} version{'s' * (count != 1)}"

    def _base_checks(self, base: str) -> list[Check]:
        """One check per subject, computed now: reading the base needs git, which may fail."""
        from martech_bus.schema.evolution import check_against_base, registry_at_revision

        root = self.roots.schemas
        try:
            current = self.registry()
            with registry_at_revision(base, root) as before:
                problems = check_against_base(current, before)
                subjects = sorted(set(before.subjects()) | set(current.subjects()))
            known = self._catalogue_problems()
        except (MartechBusError, CheckFailed) as exc:
            message = exc.message if isinstance(exc, CheckFailed) else str(exc)
            self.base_error = message
            return [
                self._check(
                    "",
                    "base",
                    "base",
                    f"the catalogue against {base}",
                    root,
                    root,
                    lambda: _fail(f"cannot compare with {base}: {message}"),
                )
            ]
        # what the compatibility checks already report is not reported twice (schema check does the same)
        fresh = [p for p in problems if p not in known]

        def body(subject: str) -> str:
            found = [p for p in fresh if p.location.schema == subject]
            if found:
                raise CheckFailed(_lines(f"{subject}: breaking change against {base}", found))
            return f"no breaking change against {base}"

        return [
            self._check(
                "",
                f"base/{subject}",
                "base",
                f"schema {subject} against {base}",
                root,
                root / subject,
                partial(body, subject),
            )
            for subject in subjects
        ]

    # -- adapters ----------------------------------------------------------------------------

    def adapter(self, folder: Path) -> Adapter:
        """The adapter in ``folder``, loaded once (CheckFailed when it does not load)."""
        from martech_bus.adapter.loader import load_adapter

        return self._cached(
            f"adapter {folder.name!r}",
            f"adapter/{folder.name}/manifest",
            lambda: load_adapter(folder),
        )

    def _adapter_checks(self, folder: Path) -> list[Check]:
        return self._folder_checks(
            "adapter",
            folder,
            folder / "adapter.yaml",
            [
                ("manifest", "manifest", "manifest", self._manifest),
                ("expiry", "expiry", "expiry", self._adapter_expiry),
                ("governance", "governance", "governance", self._governance),
            ],
            mapping=("mapping", self._adapter_mapping),
            fixture=self._adapter_fixture,
            coverage=("a fixture per mapped event", self._adapter_coverage),
        )

    def _folder_checks(
        self,
        what: str,
        folder: Path,
        manifest: Path,
        first: Sequence[tuple[str, str, str, Callable[[Path], str]]],
        *,
        mapping: tuple[str, Callable[[Path, Path], str]],
        fixture: Callable[[Path, str, Path, Path], str],
        coverage: tuple[str, Callable[[Path], str]],
    ) -> list[Check]:
        """An adapter's or a source's checks: ``first`` (name, kind, subject, body) on its
        manifest, then one per mapping file and per fixture case, then the coverage check.
        """
        prefix = f"{what}/{folder.name}"

        def check(name: str, kind: str, subject: str, path: Path, body: Callable[[], str]) -> Check:
            return self._check(
                prefix, name, kind, f"{what} {folder.name}: {subject}", folder, path, body
            )

        checks = [
            check(name, kind, subject, manifest, partial(body, folder))
            for name, kind, subject, body in first
        ]
        mapping_noun, mapping_body = mapping
        checks += [
            check(
                f"mapping/{path.stem}",
                "mapping",
                f"{mapping_noun} {path.name}",
                path,
                partial(mapping_body, folder, path),
            )
            for path in sorted((folder / "mappings").glob("*.yaml"))
        ]
        checks += [
            check(
                f"fixture/{case}",
                "fixture",
                f"fixture {case}",
                input_file,
                partial(fixture, folder, case, input_file, expected_file),
            )
            for case, input_file, expected_file in _fixture_cases(folder)
        ]
        coverage_subject, coverage_body = coverage
        checks.append(
            check(
                "coverage",
                "coverage",
                coverage_subject,
                folder / "fixtures",
                partial(coverage_body, folder),
            )
        )
        return checks

    def _manifest(self, folder: Path) -> str:
        adapter = self._in_full(partial(self.adapter, folder))
        manifest = adapter.manifest
        missing: list[str] = []
        if not (manifest.owner.team and manifest.owner.contact):
            missing.append("owner: a team and a contact who answer for the integration")
        if not manifest.runbook:
            missing.append("runbook: a link to what to do when deliveries fail")
        if manifest.cadence in _TEMPORARY:
            if manifest.expires_on is None:
                missing.append(
                    f'expires_on: a {manifest.cadence} integration is temporary (e.g. "2027-03-31")'
                )
            if not manifest.migration_plan:
                missing.append(
                    f"migration_plan: how this {manifest.cadence} integration moves onto the bus"
                )
        if adapter.payload_schema is None:
            missing.append(
                "payload.schema.json: the vendor's request body as JSON Schema, so rendered "
                "payloads can be checked"
            )
        if missing:
            raise CheckFailed(
                _lines(
                    f"{manifest.file}: the manifest is incomplete", [Problem(m) for m in missing]
                )
            )
        purposes = ", ".join(manifest.consent.purposes) or "none (declared: [])"
        return (
            f"{manifest.cadence}, owner {manifest.owner.team} <{manifest.owner.contact}>, "
            f"consent purposes: {purposes}"
        )

    def _adapter_expiry(self, folder: Path) -> str:
        manifest = self.adapter(folder).manifest
        if manifest.expires_on is None:
            return f"{manifest.cadence}: no expiry"
        days = (manifest.expires_on - self.today).days
        if not manifest.expired(self.today):
            return f"expires on {manifest.expires_on.isoformat()} ({days} days left)"
        raise CheckFailed(
            f"adapter {manifest.name!r} ({manifest.cadence}) expired on "
            f"{manifest.expires_on.isoformat()} ({-days} day{'s' * (days != -1)} ago). "
            f"Migrate it onto the bus: {manifest.migration_plan or 'no migration plan declared'}. "
            f"Or extend expires_on in {manifest.file} and give the reason in the pull request. "
            f"Owner: {manifest.owner.team} <{manifest.owner.contact}>"
        )

    def _governance(self, folder: Path) -> str:
        from martech_bus.governance.matrix import describe_scores, governance_problems

        manifest = self.adapter(folder).manifest
        problems = governance_problems(manifest)
        if problems:
            raise CheckFailed(_lines(f"{manifest.file}: governance", problems))
        assert manifest.governance is not None  # no problems means the block is there
        return f"{manifest.cadence}: {describe_scores(manifest.governance.scores)}"

    def _adapter_mapping(self, folder: Path, path: Path) -> str:
        from martech_bus.adapter.checks import check_adapter
        from martech_bus.mapping.checker import check_mapping
        from martech_bus.mapping.parser import load_mapping

        spec = load_mapping(path)  # a MappingError lists the file's own problems
        registry = self.registry()
        pinned = self._pinned(folder)
        if pinned is not None and path.resolve() in pinned:
            adapter = self.adapter(folder)
            everything = self._cached(
                f"the static checks of adapter {folder.name!r}",
                f"adapter/{folder.name}/manifest",
                lambda: check_adapter(adapter, registry),
            )
            problems = [p for p in everything if _same_file(p.location.file, path)]
            note = ""
        else:
            problems = check_mapping(spec, registry)
            note = (
                ""
                if pinned is None
                else f" (not pinned by adapter.yaml: {spec.event} uses another version)"
            )
        return _static_verdict(spec, problems) + note

    def _pinned(self, folder: Path) -> set[Path] | None:
        """The pinned mapping files of a loadable adapter; None when it does not load."""
        try:
            adapter = self.adapter(folder)
        except CheckFailed:
            return None
        return {Path(spec.file).resolve() for spec in adapter.specs.values() if spec.file}

    def _adapter_fixture(
        self, folder: Path, case: str, input_file: Path, expected_file: Path
    ) -> str:
        from martech_bus.adapter.checks import run_fixture
        from martech_bus.adapter.loader import Fixture

        _complete_fixture(case, input_file, expected_file)
        result = run_fixture(
            self.adapter(folder), Fixture(case, input_file, expected_file), self.registry()
        )
        if result.ok:
            return ""
        parts = [f"fixture {case} of adapter {folder.name}:"]
        parts += [f"  - {problem}" for problem in result.problems]
        if result.diff:
            parts += ["the rendered body differs from the expected one:", result.diff]
        raise CheckFailed("\n".join(parts))

    def _adapter_coverage(self, folder: Path) -> str:
        adapter = self.adapter(folder)
        covered = {_event_type(input_file) for _, input_file, _ in _fixture_cases(folder)}
        missing = [event for event in adapter.events() if event not in covered]
        if missing:
            raise CheckFailed(
                f"adapter {adapter.name}: no fixture for "
                + ", ".join(missing)
                + f"; add fixtures/<case>{INPUT_SUFFIX} (a canonical event) and fixtures/<case>{EXPECTED_SUFFIX} "
                "(the exact body) for each"
            )
        return f"{len(adapter.events())} mapped events, each with a fixture"

    # -- inbound sources ---------------------------------------------------------------------

    def source(self, folder: Path) -> InboundSource:
        """The inbound source in ``folder``, loaded once (CheckFailed when it does not load)."""
        from martech_bus.gateway.sources import load_source

        return self._cached(
            f"source {folder.name!r}",
            f"source/{folder.name}/declaration",
            lambda: load_source(folder),
        )

    def _normalizer(self, folder: Path) -> Normalizer:
        from martech_bus.gateway.normalizer import Normalizer

        source = self.source(folder)
        registry = self.registry()
        return self._cached(
            f"the normalizer of {folder.name!r}",
            f"source/{folder.name}/declaration",
            lambda: Normalizer({source.name: source}, registry),
        )

    def _source_checks(self, folder: Path) -> list[Check]:
        return self._folder_checks(
            "source",
            folder,
            folder / "source.yaml",
            [
                ("declaration", "manifest", "declaration", self._declaration),
                ("expiry", "expiry", "expiry", self._source_expiry),
            ],
            mapping=("inbound mapping", self._inbound_mapping),
            fixture=self._source_fixture,
            coverage=("a fixture per inbound mapping", self._source_coverage),
        )

    def _declaration(self, folder: Path) -> str:
        source = self._in_full(partial(self.source, folder))
        return (
            f"{source.kind}, owner {source.owner.team} <{source.owner.contact}>, "
            f"{len(source.specs)} inbound mappings"
        )

    def _source_expiry(self, folder: Path) -> str:
        from martech_bus.gateway.expiry import message

        source = self.source(folder)
        if not source.expired(self.today):
            return f"expires on {source.expires_on.isoformat()} ({source.days_left(self.today)} days left)"
        raise CheckFailed(
            f"{message(source, self.today)}. Contract tests fail until expires_on in "
            f"{source.file} is extended (give the reason in the pull request) or the source is retired"
        )

    def _inbound_mapping(self, folder: Path, path: Path) -> str:
        from martech_bus.gateway.transforms import INBOUND
        from martech_bus.mapping.parser import load_mapping

        spec = load_mapping(path, registry=INBOUND)
        registry = self.registry()
        if spec.event not in registry.subjects():
            raise CheckFailed(
                f"{path}: produces {spec.event!r}, which is not in the catalogue "
                f"(known: {', '.join(registry.subjects())})"
            )
        known = [entry.version for entry in registry.versions(spec.event)]
        unknown = [v for v in spec.versions if v not in known]
        if unknown:
            raise CheckFailed(
                f"{path}: produces {spec.event} version(s) {', '.join(map(str, unknown))}, "
                f"which the catalogue does not hold (versions: {', '.join(map(str, known))})"
            )
        routed = self._routed(folder)
        note = "" if routed is None or path.stem in routed else " (no route in source.yaml uses it)"
        return f"produces {spec.event} v{max(spec.versions)}{note}"

    def _routed(self, folder: Path) -> set[str] | None:
        try:
            return set(self.source(folder).specs)
        except CheckFailed:
            return None

    def _source_fixture(
        self, folder: Path, case: str, input_file: Path, expected_file: Path
    ) -> str:
        from martech_bus.adapter.checks import json_diff
        from martech_bus.gateway.sources import (
            FIXTURE_RECEIVED_AT,
            FIXTURE_RECORD_ID,
            HEADER_PREFIX,
            SourceFixture,
        )
        from martech_bus.schema.validate import validate_event

        _complete_fixture(case, input_file, expected_file)
        headers_file = folder / "fixtures" / f"{case}.headers.json"
        fixture = SourceFixture(
            case, input_file, expected_file, headers_file if headers_file.is_file() else None
        )
        source = self.source(folder)
        normalized = self._normalizer(folder).normalize_payload(
            source.name,
            fixture.load_input(),
            {HEADER_PREFIX + key.lower(): value for key, value in fixture.load_headers().items()},
            record_id=FIXTURE_RECORD_ID,
            received_at=FIXTURE_RECEIVED_AT,
        )
        problems = [
            f"item {f.item}: {f.reason}" if f.item is not None else f.reason
            for f in normalized.failures
        ] + [f"    {detail}" for f in normalized.failures for detail in f.problems]
        expected = fixture.load_expected()
        if not isinstance(expected, list):
            problems.append(f"{expected_file}: must hold a JSON array of canonical events")
            expected = []
        for index, event in enumerate(expected):
            try:
                validate_event(self.registry(), event)
            except MartechBusError as exc:
                problems.append(f"expected event [{index}] is not a valid canonical event: {exc}")
        made = [event for _, event in normalized.events]
        diff = (
            ""
            if made == expected
            else json_diff(
                expected, made, expected_name=str(expected_file), actual_name="normalized"
            )
        )
        if not problems and not diff:
            return f"{len(made)} event{'s' * (len(made) != 1)}"
        parts = [f"fixture {case} of source {folder.name}:"] + [f"  - {p}" for p in problems]
        if diff:
            parts += ["the normalized events differ from the expected ones:", diff]
        raise CheckFailed("\n".join(parts))

    def _source_coverage(self, folder: Path) -> str:
        source = self.source(folder)
        produced: set[Any] = set()
        for _, _, expected_file in _fixture_cases(folder):
            try:
                events = json.loads(expected_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # the fixture's own check says what is wrong with it
            if isinstance(events, list):
                produced |= {e.get("event_type") for e in events if isinstance(e, dict)}
        missing = sorted(
            f"{stem} ({spec.event})"
            for stem, spec in source.specs.items()
            if spec.event not in produced
        )
        if missing:
            raise CheckFailed(
                f"source {source.name}: no fixture produces the events of "
                + ", ".join(missing)
                + f"; add fixtures/<case>{INPUT_SUFFIX} (a payload as the vendor sends it) and "
                f"fixtures/<case>{EXPECTED_SUFFIX} (the canonical events it becomes)"
            )
        return f"{len(source.specs)} inbound mappings, each with a fixture"


# -- helpers -----------------------------------------------------------------------------------


def _fail(message: str) -> str:
    raise CheckFailed(message)


def _lines(headline: str, problems: Sequence[Problem]) -> str:
    return headline + "".join(f"\n  - {problem}" for problem in problems)


def _folders(root: Path | None, marker: str) -> list[Path]:
    if root is None or not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / marker).is_file())


def _subject_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def _version_files(subject: Path) -> list[tuple[int, Path]]:
    found = []
    for path in subject.glob("v*.avsc"):
        number = path.stem[1:]
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def _valid_avro(path: Path) -> str:
    from martech_bus.schema.avro import parse_schema, read_schema_file

    schema = read_schema_file(path)
    parse_schema(schema, file=str(path))  # the strict checks, then fastavro's own parser
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise CheckFailed(f"{path}: a canonical event schema must be a record")
    return str(schema.get("name", ""))


def _fixture_cases(folder: Path) -> list[tuple[str, Path, Path]]:
    """``(case, input file, expected file)`` for every case with either file."""
    fixtures = folder / "fixtures"
    names = {p.name.removesuffix(INPUT_SUFFIX) for p in fixtures.glob("*" + INPUT_SUFFIX)}
    names |= {p.name.removesuffix(EXPECTED_SUFFIX) for p in fixtures.glob("*" + EXPECTED_SUFFIX)}
    return [
        (n, fixtures / f"{n}{INPUT_SUFFIX}", fixtures / f"{n}{EXPECTED_SUFFIX}")
        for n in sorted(names)
    ]


def _complete_fixture(case: str, input_file: Path, expected_file: Path) -> None:
    for path, what in ((input_file, "input"), (expected_file, "expected")):
        if not path.is_file():
            raise CheckFailed(f"fixture {case!r} has no {what} file: {path}")


def _event_type(path: Path) -> Any:
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # the fixture's own check says what is wrong with it
    return event.get("event_type") if isinstance(event, dict) else None


def _same_file(found: str | None, path: Path) -> bool:
    return found is not None and Path(found).resolve() == path.resolve()


def _static_verdict(spec: MappingSpec, problems: Sequence[Problem]) -> str:
    from martech_bus.mapping.checker import is_warning

    errors = [p for p in problems if not is_warning(p)]
    warnings = [p for p in problems if is_warning(p)]
    versions = ", ".join(f"v{v}" for v in spec.versions)
    if errors:
        raise CheckFailed(
            _lines(f"{spec.file}: {len(errors)} error(s) against {spec.event} {versions}", problems)
        )
    note = f"{spec.event} {versions}, mapping version {spec.mapping_version}"
    return note + "".join(f"\n{warning}" for warning in warnings)


__all__ = ["Contract", "ContractRoots"]
