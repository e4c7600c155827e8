"""`martech-bus mapping ...`: render, test, check and diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from martech_bus.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EVENT = ROOT / "examples" / "events" / "order_completed.json"


@pytest.fixture(autouse=True)
def _repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.setenv("MARTECH_BUS_ADAPTERS_DIR", str(ROOT / "adapters"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_render_prints_the_exact_request_body_with_its_envelope(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "mapping", "render", "meta_capi", str(EVENT))
    assert code == 0
    body = json.loads(out)
    (item,) = body["data"]
    assert item["event_id"] == json.loads(EVENT.read_text())["event_id"]
    assert item["event_name"] == "Purchase"
    assert len(item["user_data"]["em"][0]) == 64  # hashed, never the address


def test_render_accepts_an_adapter_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(capsys, "mapping", "render", str(ROOT / "adapters" / "amplitude"), str(EVENT))[0] == 0
    )


def test_render_notes_when_consent_would_skip_the_event(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    event = json.loads(EVENT.read_text())
    event["consent"] = {"marketing": False}
    path = tmp_path / "denied.json"
    path.write_text(json.dumps(event))
    code, _, err = run(capsys, "mapping", "render", "meta_capi", str(path))
    assert code == 0
    assert "would be skipped (consent denied: marketing)" in err


def test_render_of_an_unknown_adapter_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "mapping", "render", "meta_capy", str(EVENT))
    assert code == 2
    assert "meta_capi" in err


def test_render_of_an_invalid_event_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"event_type": "order_completed"}))
    code, _, err = run(capsys, "mapping", "render", "meta_capi", str(path))
    assert code == 2
    assert "event_id" in err


def test_test_passes_every_shipped_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mapping", "test")
    assert code == 0
    assert ", 0 failed" in out


def test_test_shows_a_readable_diff_and_exits_1_on_a_mismatch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "adapters" / "meta_capi", tmp_path / "meta_capi")
    expected = tmp_path / "meta_capi" / "fixtures" / "order_completed_full.expected.json"
    body = json.loads(expected.read_text())
    body["data"][0]["event_name"] = "Purchased"
    expected.write_text(json.dumps(body))
    code, out, _ = run(capsys, "mapping", "test", "meta_capi", "--adapters", str(tmp_path))
    assert code == 1
    assert '-      "event_name": "Purchased"' in out
    assert '+      "event_name": "Purchase"' in out


def test_check_passes_the_shipped_adapters_with_warnings_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "mapping", "check")
    assert code == 0
    assert "0 errors" in out


def test_check_fails_on_a_path_missing_from_the_schema(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "adapters" / "meta_capi", tmp_path / "meta_capi")
    mapping = tmp_path / "meta_capi" / "mappings" / "order_completed.yaml"
    mapping.write_text(mapping.read_text().replace("properties.order_id", "properties.order_idd"))
    code, _, err = run(capsys, "mapping", "check", "meta_capi", "--adapters", str(tmp_path))
    assert code == 1
    assert "did you mean 'order_id'" in err


def test_diff_lists_field_level_changes_between_versions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    mappings = ROOT / "adapters" / "meta_capi" / "mappings"
    code, out, _ = run(
        capsys,
        "mapping",
        "diff",
        str(mappings / "order_completed.v2.yaml"),
        str(mappings / "order_completed.yaml"),
    )
    assert code == 0
    assert "+ custom_data.contents" in out
