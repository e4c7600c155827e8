"""The decision matrix: scores pick a cadence; a manifest contradicting its scores is reported."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from martech_bus.adapter import Adapter, load_adapter
from martech_bus.governance import cadence_for, governance_problems
from tests.adapters.helpers import MANIFEST, scratch_adapter
from tests.governance.helpers import repo_adapters

GOVERNANCE = """\
governance:
  scores: {{risk_compliance: {0}, data_maturity: {1}, integration_complexity: {2}, business_impact: {3}}}
  risks: {{privacy: 3, vendor_lock_in: 2, performance: 1, observability: 2}}
"""


@pytest.mark.parametrize(
    ("total", "cadence"),
    [(0, "sprint"), (4, "sprint"), (5, "hybrid"), (8, "hybrid"), (9, "marathon"), (12, "marathon")],
)
def test_the_total_picks_the_cadence_at_the_band_edges(total: int, cadence: str) -> None:
    assert cadence_for(total) == cadence


@pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)
def test_every_shipped_adapter_has_scores_consistent_with_its_cadence(adapter: Adapter) -> None:
    assert governance_problems(adapter.manifest) == []


def test_a_cadence_its_scores_contradict_is_reported_at_the_scores(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.format(2, 2, 1, 2)  # 7: hybrid, declared sprint
    adapter = load_adapter(scratch_adapter(tmp_path, manifest))
    (problem,) = governance_problems(adapter.manifest)
    assert problem.location.path == "governance.scores"
    assert str(problem).startswith(f"{tmp_path}/acme/adapter.yaml:25:3, at governance.scores: ")
    assert "cadence sprint contradicts the decision-matrix scores" in problem.message
    assert "= 7), which call for hybrid" in problem.message


def test_a_manifest_without_governance_is_reported(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path))
    (problem,) = governance_problems(adapter.manifest)
    assert problem.location.path == "governance"
    assert problem.message.startswith("no governance block")


def test_scores_matching_the_cadence_raise_nothing(tmp_path: Path) -> None:
    manifest = MANIFEST + GOVERNANCE.format(1, 1, 1, 1)
    assert governance_problems(load_adapter(scratch_adapter(tmp_path, manifest)).manifest) == []


def test_a_marathon_scored_as_a_sprint_is_reported() -> None:
    webhook = next(a for a in repo_adapters() if a.name == "webhook").manifest
    assert webhook.governance is not None
    low = dataclasses.replace(
        webhook.governance,
        scores=dataclasses.replace(webhook.governance.scores, risk_compliance=0, data_maturity=0),
    )
    (problem,) = governance_problems(dataclasses.replace(webhook, governance=low))
    assert (
        "cadence marathon contradicts" in problem.message and "call for sprint" in problem.message
    )
