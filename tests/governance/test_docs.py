"""docs/governance.md is real: its tables match the manifests and the code, its examples run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from martech_bus.adapter import load_adapter
from martech_bus.governance import CHECKS, DebtReport, governance_problems
from tests.adapters.helpers import MANIFEST, scratch_adapter
from tests.governance.helpers import ROOT, repo_adapters

DOC = (ROOT / "docs" / "governance.md").read_text(encoding="utf-8")
ADAPTERS_DOC = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    return DOC.split(f"{title}\n", 1)[1].split("\n#", 1)[0]


def rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text``, cell by cell."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_the_shipped_adapters_table_matches_the_manifests() -> None:
    documented = {row[0].strip("`"): row[1:7] for row in rows(section("## The shipped adapters"))}
    actual = {}
    for adapter in repo_adapters():
        governance = adapter.manifest.governance
        assert governance is not None
        scores = [str(value) for value in governance.scores.as_dict().values()]
        actual[adapter.name] = [
            *scores,
            str(governance.scores.total()),
            adapter.manifest.cadence,
        ]
    assert documented == actual


def test_the_documented_checklist_is_the_one_built() -> None:
    items = [row[0].strip("`") for row in rows(section("### The migration-readiness checklist"))]
    assert items == list(CHECKS)


@pytest.mark.parametrize("doc", [DOC, ADAPTERS_DOC], ids=["governance.md", "adapters.md"])
def test_the_documented_contradiction_is_the_problem_raised(tmp_path: Path, doc: str) -> None:
    shown = re.search(
        r"```text\n(adapters/acme/adapter\.yaml:\S+ at governance\.scores.*?)\n```", doc
    )
    assert shown is not None
    scores = "{risk_compliance: 2, data_maturity: 2, integration_complexity: 1, business_impact: 2}"
    manifest = (
        MANIFEST
        + f"governance:\n  scores: {scores}\n  risks: "
        + ("{privacy: 3, vendor_lock_in: 2, performance: 1, observability: 2}\n")
    )
    adapter = load_adapter(scratch_adapter(tmp_path / "adapters", manifest))
    (problem,) = governance_problems(adapter.manifest)
    assert str(problem).replace(f"{tmp_path}/", "") == shown.group(1)


def test_the_documented_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path))
    for name in ("FLAGS", "DLQ", "QUARANTINE", "ADAPTERS_DIR", "SOURCES_DIR"):
        monkeypatch.delenv(f"MARTECH_BUS_{name}", raising=False)
    code = section("## Python").split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {}
    exec(compile(code, "docs/governance.md", "exec"), scope)
    report = scope["report"]
    assert isinstance(report, DebtReport)
    assert len(report.integrations) == 8
