"""The decision matrix: which cadence an integration's scores call for, and the governance check.

Four dimensions are scored 0-3 in a manifest's ``governance.scores``: risk &
compliance, data maturity, integration complexity and business impact. Their sum
picks the cadence:

| total | cadence |
|---|---|
| 0-4 | sprint |
| 5-8 | hybrid |
| 9-12 | marathon |

``governance_problems(manifest)`` reports a manifest without the block and a
declared cadence that contradicts its total; contract tests run it on every adapter.
"""

from __future__ import annotations

from typing import Final

from martech_bus.adapter.manifest import Cadence, Manifest, Scores
from martech_bus.errors import Location, Problem

#: The highest total of each cadence (a total above HYBRID_MAX is a marathon).
SPRINT_MAX: Final = 4
HYBRID_MAX: Final = 8
BANDS: Final = "<= 4 sprint, 5-8 hybrid, >= 9 marathon"


def cadence_for(total: int) -> Cadence:
    """The cadence a decision-matrix total calls for."""
    if total <= SPRINT_MAX:
        return "sprint"
    return "hybrid" if total <= HYBRID_MAX else "marathon"


def suggested_cadence(scores: Scores) -> Cadence:
    """The cadence ``scores`` call for."""
    return cadence_for(scores.total())


def describe_scores(scores: Scores) -> str:
    """``risk_compliance 2 + data_maturity 1 + ... = 4``."""
    parts = " + ".join(f"{key} {value}" for key, value in scores.as_dict().items())
    return f"{parts} = {scores.total()}"


def governance_problems(manifest: Manifest) -> list[Problem]:
    """What is wrong with a manifest's governance: no ``governance`` block, or a cadence its scores contradict."""
    governance = manifest.governance
    if governance is None:
        return [
            Problem(
                "no governance block: declare the decision-matrix scores (0-3 each) and the "
                "risk buckets (1-5 each); see docs/governance.md",
                Location(file=manifest.file, path="governance"),
            )
        ]
    expected = suggested_cadence(governance.scores)
    if expected == manifest.cadence:
        return []
    return [
        Problem(
            f"cadence {manifest.cadence} contradicts the decision-matrix scores "
            f"({describe_scores(governance.scores)}), which call for {expected} ({BANDS}): "
            "change the cadence or re-score",
            Location(
                file=manifest.file,
                line=governance.line,
                column=governance.column,
                path="governance.scores",
            ),
        )
    ]


__all__ = [
    "BANDS",
    "HYBRID_MAX",
    "SPRINT_MAX",
    "cadence_for",
    "describe_scores",
    "governance_problems",
    "suggested_cadence",
]
