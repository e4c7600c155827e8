"""The debt report's model: findings and a readiness checklist per integration, scored.

Frozen dataclasses with ``to_dict()`` (the ``--format json`` shape); the HTML and
table renderers read the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal, get_args

from martech_bus.adapter.manifest import Risks, Scores

Kind = Literal["adapter", "source"]
Category = Literal["route", "expiry", "coverage", "backlog", "rollout", "ownership", "governance"]
Status = Literal["pass", "fail", "n/a"]

#: Finding categories, in the order reports show them.
CATEGORIES: Final = get_args(Category)


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of debt: what is wrong and the points it adds to the integration's score."""

    category: Category
    points: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "points": self.points, "message": self.message}


@dataclass(frozen=True, slots=True)
class Check:
    """One item of the migration-readiness checklist."""

    name: str
    label: str
    status: Status
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "label": self.label,
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Backlog:
    """Dead letters (adapters) or quarantined items (sources) waiting; ``oldest_days`` of the oldest."""

    count: int = 0
    oldest_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        days = None if self.oldest_days is None else round(self.oldest_days, 2)
        return {"count": self.count, "oldest_days": days}


@dataclass(frozen=True, slots=True)
class IntegrationDebt:
    """One adapter or gateway source: where it stands, its debt, its score and its checklist."""

    name: str
    kind: Kind
    owner: str
    cadence: str  # declared (sources are hybrid by design)
    stage: str  # direct, dual, shadow, bus, a rollout ("dual -> bus at 25%"), or gateway
    expires_on: date | None
    days_left: int | None
    backlog: Backlog
    findings: tuple[Finding, ...]
    checklist: tuple[Check, ...]
    scores: Scores | None = None
    suggested_cadence: str | None = None
    risks: Risks | None = None

    @property
    def score(self) -> int:
        """The Integration Debt Score: the findings' points, capped at 100."""
        return min(100, sum(finding.points for finding in self.findings))

    @property
    def ready(self) -> bool:
        """True when no checklist item fails."""
        return all(check.status != "fail" for check in self.checklist)

    def points_by_category(self) -> dict[str, int]:
        """Points per category (every category, zeros included), in report order."""
        totals = dict.fromkeys(CATEGORIES, 0)
        for finding in self.findings:
            totals[finding.category] += finding.points
        return totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "owner": self.owner,
            "cadence": self.cadence,
            "suggested_cadence": self.suggested_cadence,
            "scores": None if self.scores is None else self.scores.as_dict(),
            "risks": None if self.risks is None else self.risks.as_dict(),
            "stage": self.stage,
            "expires_on": None if self.expires_on is None else self.expires_on.isoformat(),
            "days_left": self.days_left,
            "backlog": self.backlog.to_dict(),
            "score": self.score,
            "points_by_category": self.points_by_category(),
            "ready": self.ready,
            "findings": [finding.to_dict() for finding in self.findings],
            "checklist": [check.to_dict() for check in self.checklist],
        }


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The report's knobs: how soon expiry nags and when a rollout counts as stuck."""

    warn_days: int = 30  # an expiry this close (in days) is "near"
    stuck_days: int = 14  # a rollout whose last flip is older is stuck


@dataclass(frozen=True, slots=True)
class DebtReport:
    """Every integration's debt as of ``today``; ``notes`` are what belongs to none of them."""

    today: date
    integrations: tuple[IntegrationDebt, ...]
    notes: tuple[str, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def score(self) -> int:
        """The overall score: the mean of the integrations' scores, rounded half up (0 without any)."""
        count = len(self.integrations)
        if not count:
            return 0
        # Half up, in integers: round() rounds halves to even, and the page's script would disagree.
        return (2 * sum(item.score for item in self.integrations) + count) // (2 * count)

    def ready_count(self) -> int:
        return sum(item.ready for item in self.integrations)

    def worst(self) -> IntegrationDebt | None:
        return max(self.integrations, key=lambda item: item.score, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "score": self.score,
            "ready": self.ready_count(),
            "thresholds": {
                "warn_days": self.thresholds.warn_days,
                "stuck_days": self.thresholds.stuck_days,
            },
            "integrations": [item.to_dict() for item in self.integrations],
            "notes": list(self.notes),
        }


__all__ = [
    "CATEGORIES",
    "Backlog",
    "Category",
    "Check",
    "DebtReport",
    "Finding",
    "IntegrationDebt",
    "Kind",
    "Status",
    "Thresholds",
]
