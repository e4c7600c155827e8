"""Collecting the debt report: every adapter and gateway source, judged against flags, stores and docs.

``collect_debt`` takes what it reads as arguments (loaded adapters and sources, a
flag store, the dead-letter and quarantine stores, the docs folder) and the date
and moment to judge expiry and ages by, so a report is reproducible.

Each integration gets findings (debt, with points: ``martech_bus.governance.scoring``)
and a migration-readiness checklist built from the same facts; ``CHECKS`` names
the checklist items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from martech_bus.errors import ConfigError
from martech_bus.governance import scoring
from martech_bus.governance.matrix import governance_problems, suggested_cadence
from martech_bus.governance.model import (
    Backlog,
    Category,
    Check,
    DebtReport,
    Finding,
    IntegrationDebt,
    Kind,
    Status,
    Thresholds,
)

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter, Fixture
    from martech_bus.gateway.quarantine import QuarantineStore
    from martech_bus.gateway.sources import InboundSource, SourceFixture
    from martech_bus.mapping.spec import MappingSpec
    from martech_bus.routing.flags import Flag
    from martech_bus.routing.store import FlagStore
    from martech_bus.sinks.dlq import DeadLetterStore

#: The migration-readiness checklist: item -> what it asks.
CHECKS: Final = {
    "owner": "an owner answers for it and for its flags",
    "runbook": "a runbook is linked",
    "migration_plan": "a migration plan is linked",
    "governance": "decision-matrix scores declared and consistent with the cadence",
    "fixtures": "every mapping has a contract fixture",
    "docs": "described on its docs page",
    "backlog": "nothing waiting in the DLQ or quarantine",
    "expiry": "within its end date",
    "flags": "migration flags settled: none expired, stuck or open-ended",
}
#: The docs page that must mention each kind of integration (relative to the docs folder).
DOCS_PAGES: Final[Mapping[Kind, str]] = {"adapter": "adapters.md", "source": "gateway.md"}
_DAY: Final = 86400.0


def collect_debt(
    adapters: Sequence[Adapter],
    sources: Iterable[InboundSource] = (),
    *,
    today: date,
    now: datetime | None = None,
    flags: FlagStore | None = None,
    dead_letters: DeadLetterStore | None = None,
    quarantine: QuarantineStore | None = None,
    docs_dir: Path | None = None,
    thresholds: Thresholds | None = None,
) -> DebtReport:
    """The debt report as of ``today``; ``now`` (default: ``today`` 00:00 UTC) measures ages.

    A store left out counts as empty; without ``docs_dir`` documentation is not checked.
    """
    moment = now if now is not None else datetime.combine(today, time(), UTC)
    context = _Context(today, moment, thresholds or Thresholds(), docs_dir)
    notes: list[str] = []
    vendors = [adapter.name for adapter in adapters]
    source_list = list(sources)
    flags_by_vendor = _flags_by_vendor(flags, vendors, notes)
    letters = _dead_letters(dead_letters, moment, vendors, notes)
    held = _quarantined(quarantine, moment, [source.name for source in source_list], notes)
    if docs_dir is not None:
        for kind, page in DOCS_PAGES.items():
            if not (docs_dir / page).is_file():
                notes.append(f"{docs_dir / page} not found: {kind} documentation not checked")
    integrations = [
        _assess_adapter(
            adapter,
            context,
            flags_by_vendor.get(adapter.name, []),
            flags,
            letters.get(adapter.name, Backlog()),
        )
        for adapter in adapters
    ]
    integrations += [
        _assess_source(source, context, held.get(source.name, Backlog())) for source in source_list
    ]
    integrations.sort(key=lambda item: (-item.score, item.kind, item.name))
    return DebtReport(today, tuple(integrations), tuple(notes), context.thresholds)


@dataclass(slots=True)
class _Context:
    today: date
    now: datetime
    thresholds: Thresholds
    docs_dir: Path | None
    pages: dict[str, str | None] = field(default_factory=dict)

    def page(self, kind: Kind) -> str | None:
        """The text of ``kind``'s docs page (None when docs are not checked or it is missing)."""
        if self.docs_dir is None:
            return None
        name = DOCS_PAGES[kind]
        if name not in self.pages:
            path = self.docs_dir / name
            self.pages[name] = path.read_text(encoding="utf-8") if path.is_file() else None
        return self.pages[name]


class _Assessment:
    """Findings and checklist items of one integration, gathered topic by topic."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.checks: dict[str, Check] = {}

    def debt(self, category: Category, points: int, message: str) -> None:
        if points > 0:
            self.findings.append(Finding(category, points, message))

    def check(self, name: str, status: Status, detail: str = "") -> None:
        self.checks[name] = Check(name, CHECKS[name], status, detail)

    def checklist(self) -> tuple[Check, ...]:
        return tuple(self.checks[name] for name in CHECKS if name in self.checks)


# -- adapters and sources ---------------------------------------------------------------------


def _assess_adapter(
    adapter: Adapter,
    context: _Context,
    flags: list[Flag],
    store: FlagStore | None,
    backlog: Backlog,
) -> IntegrationDebt:
    manifest = adapter.manifest
    found = _Assessment()
    vendor_flag = next((flag for flag in flags if flag.integration == adapter.name), None)
    setting = None if vendor_flag is None else vendor_flag.setting
    stage = "direct" if setting is None else setting.describe()
    on_bus = scoring.progress(setting) == 1.0
    if not on_bus:
        share = round(scoring.progress(setting) * 100)
        where = f"{share}% of the way onto the bus" if share else "not on the bus yet"
        declared = ", although declared marathon" if manifest.cadence == "marathon" else ""
        found.debt("route", scoring.route_points(setting), f"routed {stage}: {where}{declared}")
    _expiry(found, "the adapter", manifest.expires_on, context)
    owners_missing = [flag.integration for flag in flags if not flag.owner]
    _ownership(found, manifest.runbook, owners_missing)
    if on_bus:
        found.check("migration_plan", "n/a", "on the bus")
    elif manifest.migration_plan is None:
        found.debt(
            "ownership",
            scoring.NO_MIGRATION_PLAN,
            "no migration_plan: nothing says how it reaches the bus",
        )
        found.check("migration_plan", "fail", "none linked")
    else:
        found.check("migration_plan", "pass", manifest.migration_plan)
    _governance(found, adapter)
    covered = _fixture_events(adapter.fixtures, expected=False)
    _coverage(found, "adapter", adapter.name, adapter.specs, covered, context)
    _backlog(found, backlog, "dead letter", "no dead letters waiting")
    _flags(found, flags, store, context)
    governance = manifest.governance
    return IntegrationDebt(
        name=adapter.name,
        kind="adapter",
        owner=manifest.owner.team,
        cadence=manifest.cadence,
        stage=stage,
        expires_on=manifest.expires_on,
        days_left=_days_left(manifest.expires_on, context.today),
        backlog=backlog,
        findings=tuple(found.findings),
        checklist=found.checklist(),
        scores=None if governance is None else governance.scores,
        suggested_cadence=None if governance is None else suggested_cadence(governance.scores),
        risks=None if governance is None else governance.risks,
    )


def _assess_source(source: InboundSource, context: _Context, backlog: Backlog) -> IntegrationDebt:
    found = _Assessment()
    _expiry(found, "the gateway source", source.expires_on, context)
    _ownership(found, source.runbook, [])
    found.check("migration_plan", "pass", source.migration_plan)
    found.check("governance", "n/a", "gateway sources are hybrid by design and carry no scores")
    covered = _fixture_events(source.fixtures, expected=True)
    _coverage(found, "source", source.name, source.specs, covered, context)
    _backlog(found, backlog, "quarantined item", "nothing in quarantine")
    found.check("flags", "n/a", "sources are routed by their adapters' flags")
    return IntegrationDebt(
        name=source.name,
        kind="source",
        owner=source.owner.team,
        cadence="hybrid",
        stage="gateway",
        expires_on=source.expires_on,
        days_left=_days_left(source.expires_on, context.today),
        backlog=backlog,
        findings=tuple(found.findings),
        checklist=found.checklist(),
    )


# -- topics -----------------------------------------------------------------------------------


def _days_left(end: date | None, today: date) -> int | None:
    return None if end is None else (end - today).days


def _expiry(found: _Assessment, what: str, end: date | None, context: _Context) -> None:
    if end is None:
        found.check("expiry", "n/a", "no end date")
        return
    days = (end - context.today).days
    if days < 0:
        found.debt(
            "expiry",
            scoring.expired_points(-days),
            f"{what} expired on {end} ({-days} day{_s(-days)} ago): migrate it or extend expires_on",
        )
        found.check("expiry", "fail", f"expired on {end}")
        return
    if days <= context.thresholds.warn_days:
        found.debt(
            "expiry",
            scoring.EXPIRING_SOON,
            f"{what} expires on {end} (in {days} day{_s(days)})",
        )
    found.check("expiry", "pass", f"{days} day{_s(days)} left")


def _ownership(found: _Assessment, runbook: str | None, flags_without_owner: list[str]) -> None:
    if runbook is None:
        found.debt("ownership", scoring.NO_RUNBOOK, "no runbook: whoever is paged has no guide")
        found.check("runbook", "fail", "none linked")
    else:
        found.check("runbook", "pass", runbook)
    for integration in flags_without_owner:
        found.debt("ownership", scoring.NO_OWNER, f"flag {integration} has no owner")
    if flags_without_owner:
        found.check("owner", "fail", "flags without an owner: " + ", ".join(flags_without_owner))
    else:
        found.check("owner", "pass")


def _governance(found: _Assessment, adapter: Adapter) -> None:
    problems = governance_problems(adapter.manifest)
    for problem in problems:
        missing = adapter.manifest.governance is None
        points = scoring.NO_GOVERNANCE if missing else scoring.CADENCE_CONTRADICTED
        found.debt("governance", points, problem.message)
    if problems:
        found.check("governance", "fail", problems[0].message)
    else:
        found.check("governance", "pass")


def _coverage(
    found: _Assessment,
    kind: Kind,
    name: str,
    specs: Mapping[str, MappingSpec],
    covered: set[str] | str,
    context: _Context,
) -> None:
    """Fixtures per mapping, a "why" comment per mapping file, and a mention on the docs page.

    ``covered`` is the event types the fixtures exercise, or why they could not be read.
    """
    untested = []
    for key, spec in specs.items():
        if isinstance(covered, str) or spec.event not in covered:
            untested.append(key)
    for key in untested:
        why = f" ({covered})" if isinstance(covered, str) else ""
        found.debt(
            "coverage",
            scoring.MAPPING_WITHOUT_FIXTURE,
            f"mapping {key} has no contract fixture{why}",
        )
    found.check(
        "fixtures",
        "fail" if untested else "pass",
        "untested: " + ", ".join(untested) if untested else f"{len(specs)} mapping(s) covered",
    )
    page = context.page(kind)
    if page is None:
        found.check("docs", "n/a", "documentation not checked")
        return
    # A mapping without its why is debt, but it does not block a migration: the connector
    # runs the very same file. A missing docs page entry does (nobody can look it up).
    for key, spec in specs.items():
        if not _says_why(spec):
            found.debt(
                "coverage",
                scoring.MAPPING_WITHOUT_DOCS,
                f"mapping {key} does not say why (no comment at the top of its file)",
            )
    page_name = f"docs/{DOCS_PAGES[kind]}"
    if f"`{name}`" in page:
        found.check("docs", "pass", page_name)
    else:
        found.debt("coverage", scoring.UNDOCUMENTED, f"not mentioned on {page_name}")
        found.check("docs", "fail", f"`{name}` is not on {page_name}")


def _says_why(spec: MappingSpec) -> bool:
    """True when the mapping file opens with a comment (its why); unknown files count as documented."""
    if spec.file is None:
        return True
    try:
        text = Path(spec.file).read_text(encoding="utf-8")
    except OSError:
        return True
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.startswith("#")


def _fixture_events(
    fixtures: Callable[[], Sequence[Fixture | SourceFixture]], *, expected: bool
) -> set[str] | str:
    """The event types the fixtures exercise, or why they could not be listed.

    An adapter's inputs are canonical events; a source's inputs are vendor payloads, so
    its events are in the expected files (``expected=True``).
    """
    try:
        found = fixtures()
    except ConfigError as exc:
        return exc.message
    events = set()
    for fixture in found:
        try:
            data = fixture.load_expected() if expected else [fixture.load_input()]
        except (OSError, ValueError):
            continue  # an unreadable fixture exercises nothing; the contract tests say why
        for event in data if isinstance(data, list) else []:
            if isinstance(event, dict) and isinstance(event.get("event_type"), str):
                events.add(event["event_type"])
    return events


def _backlog(found: _Assessment, backlog: Backlog, noun: str, clear: str) -> None:
    if backlog.count == 0:
        found.check("backlog", "pass", clear)
        return
    age = "" if backlog.oldest_days is None else f", the oldest {backlog.oldest_days:.1f} days"
    text = f"{backlog.count} {noun}{_s(backlog.count)} waiting{age}"
    found.debt("backlog", scoring.backlog_points(backlog.count, backlog.oldest_days), text)
    found.check("backlog", "fail", text)


def _flags(
    found: _Assessment, flags: list[Flag], store: FlagStore | None, context: _Context
) -> None:
    if not flags:
        found.check("flags", "n/a", "no flags: routed direct")
        return
    unsettled = []
    for flag in flags:
        name = flag.integration
        if flag.expires_on is not None:
            days = (flag.expires_on - context.today).days
            if days < 0:
                found.debt(
                    "expiry",
                    scoring.expired_points(-days),
                    f"flag {name} ({flag.setting.describe()}) expired on {flag.expires_on}",
                )
                unsettled.append(f"{name} expired")
            elif days <= context.thresholds.warn_days:
                found.debt(
                    "expiry",
                    scoring.EXPIRING_SOON,
                    f"flag {name} expires on {flag.expires_on} (in {days} day{_s(days)})",
                )
        elif flag.warnings(context.today):  # transitional and open-ended
            found.debt(
                "expiry",
                scoring.NO_END_DATE,
                f"flag {name} is transitional ({flag.setting.describe()}) without expires_on",
            )
            unsettled.append(f"{name} open-ended")
        stuck = _stuck(flag, store, context)
        if stuck is not None:
            found.debt("rollout", scoring.STUCK_ROLLOUT, stuck)
            unsettled.append(f"{name} stuck")
    found.check("flags", "fail" if unsettled else "pass", ", ".join(unsettled))


def _stuck(flag: Flag, store: FlagStore | None, context: _Context) -> str | None:
    """Why ``flag`` is stuck mid-rollout, or None (not a rollout, or flipped recently)."""
    setting = flag.setting
    if setting.to is None or not 0 < setting.percent < 100:
        return None
    history = store.history(flag.integration, 1) if store is not None else []
    where = f"flag {flag.integration} is mid-rollout ({setting.describe()})"
    if not history:
        return f"{where} with no recorded flip"
    last = history[0].at if history[0].at.tzinfo else history[0].at.replace(tzinfo=UTC)
    days = (context.now - last).total_seconds() / _DAY
    if days <= context.thresholds.stuck_days:
        return None
    return f"{where} since its last flip {int(days)} days ago"


# -- stores -----------------------------------------------------------------------------------


def _flags_by_vendor(
    store: FlagStore | None, vendors: list[str], notes: list[str]
) -> dict[str, list[Flag]]:
    """Each adapter's flags: ``<vendor>`` and every ``<source>:<vendor>``."""
    found: dict[str, list[Flag]] = {}
    for flag in [] if store is None else store.list():
        vendor = flag.integration.rpartition(":")[2]
        if vendor in vendors:
            found.setdefault(vendor, []).append(flag)
        else:
            notes.append(f"flag {flag.integration} routes to {vendor!r}, which is no adapter")
    return found


def _dead_letters(
    store: DeadLetterStore | None, now: datetime, vendors: list[str], notes: list[str]
) -> dict[str, Backlog]:
    records = [] if store is None else store.list()
    return _backlogs(
        [(record.vendor, record.dead_lettered_at.timestamp()) for record in records],
        now,
        vendors,
        notes,
        lambda vendor, count: f"{count} dead letter{_s(count)} for {vendor!r}, which is no adapter",
    )


def _quarantined(
    store: QuarantineStore | None, now: datetime, sources: list[str], notes: list[str]
) -> dict[str, Backlog]:
    # Age from when the payload arrived: a failed replay re-quarantines an item, which
    # would make quarantined_at look fresh while the data keeps getting older.
    items = [] if store is None else store.list()
    return _backlogs(
        [(item.source, item.received_at) for item in items],
        now,
        sources,
        notes,
        lambda source, count: (
            f"{count} quarantined item{_s(count)} from {source!r}, which is no declared source"
        ),
    )


def _backlogs(
    waiting: Iterable[tuple[str, float]],
    now: datetime,
    known: list[str],
    notes: list[str],
    stray: Callable[[str, int], str],
) -> dict[str, Backlog]:
    """Count and oldest age per integration from (integration, epoch seconds) pairs; a note
    (``stray(name, count)``) for each integration not in ``known``."""
    oldest: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, at in waiting:
        counts[name] = counts.get(name, 0) + 1
        oldest[name] = min(oldest.get(name, at), at)
    found = {name: Backlog(count, _age_days(now, oldest[name])) for name, count in counts.items()}
    for name in sorted(set(found) - set(known)):
        notes.append(stray(name, found[name].count))
    return found


def _age_days(now: datetime, epoch_seconds: float) -> float:
    return max(0.0, (now.timestamp() - epoch_seconds) / _DAY)


def _s(count: int) -> str:
    return "s" * (count != 1)


__all__ = ["CHECKS", "DOCS_PAGES", "collect_debt"]
