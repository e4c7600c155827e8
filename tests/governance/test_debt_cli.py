"""`martech-bus debt`: the report as a table, JSON and HTML; exit codes for CI and mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from martech_bus.backends import dead_letter_store
from martech_bus.cli.main import main
from tests.governance.helpers import ROOT, dead_letters

FLAGS = """\
flags:
  braze:
    mode: dual
    to: bus
    percent: 25
    expires_on: "2027-03-31"
    owner: "crm-engineering"
"""


@pytest.fixture
def options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every input explicit, and local state (the flag audit log) in a scratch folder."""
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "flags.yaml").write_text(FLAGS, encoding="utf-8")
    dlq = f"sqlite:{tmp_path / 'dlq.sqlite3'}"
    store = dead_letter_store(dlq)
    for record in dead_letters("braze", [2]).list():
        store.put(record)
    store.close()
    return [
        "--adapters",
        str(ROOT / "adapters"),
        "--sources",
        str(ROOT / "sources"),
        "--flags",
        f"yaml:{tmp_path / 'flags.yaml'}",
        "--dlq",
        dlq,
        "--quarantine",
        "memory",
        "--docs",
        str(ROOT / "docs"),
        "--today",
        "2026-11-20",
    ]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["debt", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_lists_every_integration_with_its_score(
    capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, out, _ = run(capsys, *options)
    assert code == 0
    assert "Integration debt as of 2026-11-20" in out
    for name in ("amplitude", "braze", "ga4", "klaviyo", "meta_capi", "webhook", "segment"):
        assert name in out
    assert "dual -> bus at 25%" in out
    assert "1 dead letter waiting" in out
    assert "flag braze is mid-rollout (dual -> bus at 25%) with no recorded flip" in out


def test_json_is_the_whole_report_on_stdout(
    capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, out, _ = run(capsys, *options, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["today"] == "2026-11-20"
    braze = next(item for item in report["integrations"] if item["name"] == "braze")
    assert braze["backlog"] == {"count": 1, "oldest_days": 2.0}
    assert braze["stage"] == "dual -> bus at 25%"
    assert {check["check"] for check in braze["checklist"]} >= {"owner", "fixtures", "backlog"}
    scores = [item["score"] for item in report["integrations"]]
    assert report["score"] == (2 * sum(scores) + len(scores)) // (2 * len(scores))  # half up


def test_html_is_written_next_to_the_table(
    capsys: pytest.CaptureFixture[str], options: list[str], tmp_path: Path
) -> None:
    page = tmp_path / "debt.html"
    code, out, err = run(capsys, *options, "--html", str(page))
    assert code == 0
    assert f"wrote {page}" in err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and 'id="chart-scores"' in text
    assert "Integration debt" in out


def test_fail_above_exits_1_naming_the_integrations_over_the_line(
    capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, _, err = run(capsys, *options, "--fail-above", "20")
    assert code == 1
    assert "braze: debt score" in err and "is above 20" in err


def test_fail_above_the_worst_score_exits_0(
    capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, _, _ = run(capsys, *options, "--fail-above", "100")
    assert code == 0


def test_a_bad_date_is_bad_input_without_a_traceback(
    capsys: pytest.CaptureFixture[str], options: list[str]
) -> None:
    code, _, err = run(capsys, *options, "--today", "next friday")
    assert code == 2
    assert "--today 'next friday' is not a date written YYYY-MM-DD" in err
    assert "Traceback" not in err


def test_an_unwritable_html_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], options: list[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, *options, "--html", str(tmp_path / "missing" / "debt.html"))
    assert code == 2
    assert "cannot write" in err and "Traceback" not in err
