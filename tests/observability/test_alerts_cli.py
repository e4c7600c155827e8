"""`martech-bus alerts check` and `alerts rules`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from martech_bus.cli.main import main
from martech_bus.observability.alerts import DEFAULT_ALERTS

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ["--adapters", str(ROOT / "adapters"), "--sources", str(ROOT / "sources")]


def test_check_lists_the_alerts_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "check", *FOLDERS]) == 0
    output = capsys.readouterr().out
    assert all(alert.name in output for alert in DEFAULT_ALERTS)
    assert "meta_capi: https://wiki.example.com/martech/meta-capi/runbook" in output


def test_check_exits_1_when_an_adapter_has_no_runbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    adapters = tmp_path / "adapters"
    shutil.copytree(ROOT / "adapters" / "webhook", adapters / "webhook")
    manifest = adapters / "webhook" / "adapter.yaml"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    manifest.write_text("".join(x for x in lines if not x.startswith("runbook:")), encoding="utf-8")
    code = main(["alerts", "check", "--adapters", str(adapters), "--sources", str(tmp_path)])
    assert code == 1
    assert "no runbook: webhook" in capsys.readouterr().err


def test_check_exits_2_on_a_bad_file_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "alerts.yaml"
    bad.write_text("alerts:\n  - {name: a, metric: dlq_sise, threshold: 1, window: 5m}\n")
    assert main(["alerts", "check", "--file", str(bad), *FOLDERS]) == 2
    assert f"{bad}:2:23, at alerts[0].metric: unknown metric" in capsys.readouterr().err


def test_rules_write_one_rule_per_alert_and_integration_with_a_runbook(tmp_path: Path) -> None:
    out = tmp_path / "rules.yaml"
    assert main(["alerts", "rules", *FOLDERS, "--output", str(out)]) == 0
    rules = yaml.safe_load(out.read_text(encoding="utf-8"))["groups"][0]["rules"]
    meta = [r for r in rules if 'integration="meta_capi"' in r["expr"]]
    catch_all = [r for r in rules if "runbook_url" not in r["annotations"]]
    assert [r["annotations"]["runbook_url"] for r in meta] == [
        f"https://wiki.example.com/martech/meta-capi/runbook#{alert.runbook}"
        for alert in DEFAULT_ALERTS
    ]
    assert [r["labels"]["martech_bus_alert"] for r in catch_all] == [a.name for a in DEFAULT_ALERTS]
