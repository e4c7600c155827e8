"""The shadow report: how often the bus matched the direct path, and where it did not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from martech_bus.shadow.store import ShadowRecord, ShadowStore


@dataclass(frozen=True, slots=True)
class PathSummary:
    """One differing field across the compared events."""

    path: str
    kind: str
    events: int
    example: dict[str, Any]  # one difference (values masked where sensitive)


@dataclass(frozen=True)
class ShadowReport:
    """Match rate and field-level differences of one integration's shadow comparisons."""

    integration: str
    compared: int
    matched: int
    both_skipped: int
    paths: list[PathSummary] = field(default_factory=list)
    skip_mismatches: list[dict[str, Any]] = field(default_factory=list)
    first_at: float | None = None
    last_at: float | None = None

    @property
    def match_rate(self) -> float | None:
        """Matched / compared (None before anything was compared)."""
        return self.matched / self.compared if self.compared else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "compared": self.compared,
            "matched": self.matched,
            "mismatched": self.compared - self.matched,
            "both_skipped": self.both_skipped,
            "match_rate": self.match_rate,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "differences": [
                {"path": p.path, "kind": p.kind, "events": p.events, "example": p.example}
                for p in self.paths
            ],
            "skip_mismatches": self.skip_mismatches,
        }


def shadow_report(
    store: ShadowStore, integration: str, *, since: float | None = None, samples: int = 5
) -> ShadowReport:
    """Sum up ``integration``'s shadow records (``samples`` caps the skip-mismatch examples).

    ``integration`` is a vendor (every source's events) or ``source:vendor``.
    """
    source, _, vendor = integration.rpartition(":")
    records = store.list(vendor, since=since)
    if source:
        records = [r for r in records if r.extra.get("source") == source]
    return summarise(integration, records, samples=samples)


def summarise(integration: str, records: list[ShadowRecord], *, samples: int = 5) -> ShadowReport:
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], dict[str, Any]] = {}
    skip_mismatches: list[dict[str, Any]] = []
    both_skipped = 0
    for record in records:
        if record.matched and record.direct_skipped is not None:
            both_skipped += 1
        for difference in record.differences:
            key = (difference.path, difference.kind)
            counts[key] += 1
            examples.setdefault(key, {"event_id": record.event_id, **difference.as_dict()})
        if not record.matched and not record.differences and len(skip_mismatches) < samples:
            skip_mismatches.append(
                {
                    "event_id": record.event_id,
                    "event_type": record.event_type,
                    "direct": record.direct_skipped or "sent",
                    "bus": record.bus_skipped or "sent",
                }
            )
    paths = [
        PathSummary(path, kind, n, examples[(path, kind)])
        for (path, kind), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return ShadowReport(
        integration,
        compared=len(records),
        matched=sum(1 for r in records if r.matched),
        both_skipped=both_skipped,
        paths=paths,
        skip_mismatches=skip_mismatches,
        first_at=records[0].recorded_at if records else None,
        last_at=records[-1].recorded_at if records else None,
    )


__all__ = ["PathSummary", "ShadowReport", "shadow_report", "summarise"]
