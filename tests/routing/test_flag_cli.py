"""`martech-bus flag ...`: list, show, set, rollback, check; exit codes and output.

They run through the real entry point (the `cli` fixture registers `flag` if main.py does not).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.routing.conftest import run

FLAGS = """\
flags:
  braze:
    mode: dual
    to: bus
    percent: 25
    expires_on: "2020-01-31"
    owner: "crm-engineering"
  ga4:
    mode: direct
"""


@pytest.fixture
def flags_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "flags.yaml"
    path.write_text(FLAGS, encoding="utf-8")
    monkeypatch.setenv("MARTECH_BUS_FLAGS", f"yaml:{path}")
    monkeypatch.setenv("MARTECH_BUS_ADAPTERS_DIR", str(Path(__file__).parents[2] / "adapters"))
    return path


def audit(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "data" / "flag-audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_list_shows_every_flag_and_marks_expired_ones(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, out, err = run(capsys, "flag", "list")
    assert code == 0
    assert "dual -> bus" in out
    assert "2020-01-31 (expired)" in out
    assert "crm-engineering" in out
    assert "ga4" in out
    assert "warning: braze: dual -> bus at 25% expired on 2020-01-31" in err


def test_set_flips_the_file_and_records_the_audit_entry(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "flag", "set", "ga4", "dual", "--reason", "publish too", "--who", "ana"
    )
    assert code == 0
    assert "ga4: now dual (was direct; version 2" in out
    assert "    mode: dual\n" in flags_file.read_text(encoding="utf-8").split("ga4:")[1]
    (entry,) = audit(tmp_path)
    assert (entry["who"], entry["from"], entry["to"], entry["reason"]) == (
        "ana",
        "direct",
        "dual",
        "publish too",
    )


def test_set_with_to_and_percent_starts_a_rollout(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, out, _ = run(
        capsys, "flag", "set", "web:ga4", "dual", "--to", "shadow", "--percent", "10",
        "--reason", "shadow web first", "--expires", "2027-06-30",
    )  # fmt: skip
    assert code == 0
    assert "web:ga4: now dual -> shadow at 10% (was no flag; version 1" in out


def test_set_without_a_reason_is_bad_input(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "set", "ga4", "bus")
    assert code == 2
    assert "--reason" in err
    assert "mode: direct" in flags_file.read_text(encoding="utf-8").split("ga4:")[1]


def test_set_with_an_unknown_mode_is_bad_input_with_a_hint(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "set", "ga4", "shaddow", "--reason", "x")
    assert code == 2
    assert "did you mean 'shadow'?" in err


def test_set_with_a_percent_but_no_target_is_bad_input(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "set", "ga4", "dual", "--percent", "10", "--reason", "x")
    assert code == 2
    assert "needs both --to MODE and --percent P" in err


def test_set_of_an_unknown_integration_is_bad_input_with_a_hint(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "set", "brazee", "bus", "--reason", "x")
    assert code == 2
    assert "did you mean 'braze'?" in err


def test_set_of_a_new_flag_for_a_shipped_adapter_is_allowed(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, _ = run(capsys, "flag", "set", "shopify:klaviyo", "dual", "--reason", "x")
    assert code == 0


def test_set_on_the_env_store_is_bad_input(capsys: pytest.CaptureFixture[str], cli: None) -> None:
    code, _, err = run(capsys, "flag", "set", "braze", "bus", "--reason", "x", "--flags", "env")
    assert code == 2
    assert "read-only" in err


def test_show_prints_the_setting_and_the_recent_flips(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    run(capsys, "flag", "set", "ga4", "dual", "--reason", "publish too", "--who", "ana")
    code, out, _ = run(capsys, "flag", "show", "ga4")
    assert code == 0
    assert "setting      dual" in out
    assert "publish too" in out
    assert "ana" in out


def test_show_of_a_source_without_its_own_flag_names_the_fallback(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, out, _ = run(capsys, "flag", "show", "web:braze")
    assert code == 0
    assert "routed by braze: dual -> bus at 25%" in out


def test_rollback_restores_the_previous_setting(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path, tmp_path: Path
) -> None:
    run(capsys, "flag", "set", "ga4", "bus", "--reason", "go")
    code, out, _ = run(capsys, "flag", "rollback", "ga4", "--reason", "vendor errors")
    assert code == 0
    assert "ga4: rolled back to direct (was bus;" in out
    assert audit(tmp_path)[-1]["action"] == "rollback"


def test_rollback_without_history_is_bad_input(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "rollback", "ga4")
    assert code == 2
    assert "no recorded flip" in err


def test_check_fails_when_a_flag_outlived_its_end_date(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    code, _, err = run(capsys, "flag", "check")
    assert code == 1
    assert "expired on 2020-01-31" in err


def test_check_passes_when_no_flag_nags(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    run(capsys, "flag", "set", "braze", "bus", "--reason", "done", "--expires", "none")
    code, out, _ = run(capsys, "flag", "check")
    assert code == 0
    assert "no flag needs attention" in out


def test_a_broken_flag_file_is_bad_input_with_file_and_line(
    capsys: pytest.CaptureFixture[str], cli: None, flags_file: Path
) -> None:
    flags_file.write_text("flags:\n  braze:\n    mode: buss\n", encoding="utf-8")
    code, _, err = run(capsys, "flag", "list")
    assert code == 2
    assert f"{flags_file}:3:11" in err
