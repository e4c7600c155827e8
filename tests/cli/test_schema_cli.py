"""`martech-bus schema ...`: output and exit codes (0 ok, 1 check failed, 2 bad input)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from martech_bus.cli.main import main
from tests.schema.catalogue import copy_catalogue

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _repo_catalogue(monkeypatch: pytest.MonkeyPatch, schemas_dir: Path) -> None:
    monkeypatch.setenv("MARTECH_BUS_SCHEMAS_DIR", str(schemas_dir))


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from martech_bus import __version__

    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"martech-bus {__version__}")


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["schema"],
        ["schema", "list"],
        ["schema", "show"],
        ["schema", "validate"],
        ["schema", "compat"],
        ["schema", "check"],
        ["schema", "fingerprint"],
        ["schema", "codegen"],
    ],
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert "Usage:" in out


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "schema", "frobnicate")
    assert code == 2
    assert "No such command" in err


def test_schema_list_shows_every_subject(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "list")
    assert code == 0
    for subject in ("order_completed", "consent_updated", "lead_captured"):
        assert subject in out


def test_schema_show_prints_ids_pii_and_the_definition(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema", "show", "order_completed", "--version", "1")
    assert code == 0
    assert "order_completed v1" in out
    assert "properties.email (email)" in out
    assert '"name": "OrderCompleted"' in out


def test_schema_show_of_an_unknown_event_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "schema", "show", "order_complete")
    assert code == 2
    assert "did you mean 'order_completed'" in err
    assert "Traceback" not in err


def test_schema_validate_accepts_a_valid_event(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "schema", "validate", str(EXAMPLES / "events" / "order_completed.json")
    )
    assert code == 0
    assert "1 valid, 0 invalid" in out


def test_schema_validate_reports_each_problem_with_its_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(
        capsys, "schema", "validate", str(EXAMPLES / "events" / "invalid_order.json")
    )
    assert code == 1
    assert "0 valid, 1 invalid" in out
    for path in (
        "event_id",
        "occurred_at",
        "properties.totl",
        "properties.currency",
        "properties.products[0].price",
    ):
        assert f"at {path}" in err


def test_schema_validate_reads_json_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    event = json.loads((EXAMPLES / "events" / "order_completed.json").read_text())
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps(event) + "\n" + json.dumps(dict(event, event_type="nope")) + "\n")
    code, out, err = run(capsys, "schema", "validate", str(lines))
    assert code == 1
    assert "1 valid, 1 invalid" in out
    assert f"{lines}:2" in err


def test_schema_validate_of_malformed_json_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"event_id": ')
    code, _, err = run(capsys, "schema", "validate", str(broken))
    assert code == 2
    assert f"{broken}:1:14" in err


def test_schema_validate_of_a_json_value_that_is_not_an_object_fails_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42")
    code, _, err = run(capsys, "schema", "validate", str(scalar))
    assert code == 1
    assert "must be a JSON object" in err


def test_schema_compat_exits_0_for_a_compatible_change(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    new = EXAMPLES / "schema-changes" / "order_completed_v3_compatible.avsc"
    code, out, _ = run(
        capsys, "schema", "compat", str(new), str(schemas_dir / "order_completed" / "v2.avsc")
    )
    assert code == 0
    assert "compatible" in out


def test_schema_compat_exits_1_and_explains_a_breaking_change(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    new = EXAMPLES / "schema-changes" / "order_completed_v3_breaking.avsc"
    old = schemas_dir / "order_completed" / "v2.avsc"
    code, out, _ = run(capsys, "schema", "compat", str(new), str(old), "--mode", "BACKWARD")
    assert code == 1
    assert "loyalty_tier" in out
    assert "scale" in out


def test_schema_compat_forward_mode_checks_the_other_direction(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    # v2 adds an optional field: old readers (v1) read v2 data fine.
    v1, v2 = (str(schemas_dir / "order_completed" / f"v{n}.avsc") for n in (1, 2))
    assert run(capsys, "schema", "compat", v2, v1, "--mode", "FORWARD")[0] == 0


def test_schema_compat_of_an_invalid_schema_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.avsc"
    bad.write_text('{"type": "record", "name": "A", "fields": [{"name": "a", "type": "strin"}]}')
    code, _, err = run(capsys, "schema", "compat", str(bad), str(bad))
    assert code == 2
    assert "unknown type 'strin'" in err


def test_schema_compat_with_an_unknown_mode_is_bad_input(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    v1 = str(schemas_dir / "order_completed" / "v1.avsc")
    code, _, err = run(capsys, "schema", "compat", v1, v1, "--mode", "SIDEWAYS")
    assert code == 2
    assert "BACKWARD" in err


def test_schema_check_passes_on_the_repository_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "schema", "check")
    assert code == 0
    assert "ok" in out


def test_schema_check_fails_on_a_version_that_breaks_its_mode(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path, tmp_path: Path
) -> None:
    root = copy_catalogue(schemas_dir, tmp_path / "schemas")
    shutil.copy(
        EXAMPLES / "schema-changes" / "order_completed_v3_breaking.avsc",
        root / "order_completed" / "v3.avsc",
    )
    code, out, _ = run(capsys, "schema", "check", "--schemas", str(root))
    assert code == 1
    assert "order_completed v3" in out
    assert "loyalty_tier" in out


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def git_catalogue(schemas_dir: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_catalogue(schemas_dir, repo / "schemas")
    _git(repo, "init", "-q")
    _git(
        repo,
        "-c",
        "user.email=t@example.com",
        "-c",
        "user.name=t",
        "commit",
        "-qam",
        "base",
        "--allow-empty",
    )
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "catalogue")
    return repo / "schemas"


def test_schema_check_base_passes_when_nothing_changed(
    capsys: pytest.CaptureFixture[str], git_catalogue: Path
) -> None:
    code, out, _ = run(capsys, "schema", "check", "--base", "HEAD", "--schemas", str(git_catalogue))
    assert code == 0
    assert "against HEAD" in out


def test_schema_check_base_fails_when_a_published_version_is_edited(
    capsys: pytest.CaptureFixture[str], git_catalogue: Path
) -> None:
    path = git_catalogue / "page_viewed" / "v1.avsc"
    schema = json.loads(path.read_text())
    schema["fields"][-1]["type"]["fields"].append(
        {"name": "extra", "type": ["null", "string"], "default": None}
    )
    path.write_text(json.dumps(schema))
    code, out, _ = run(capsys, "schema", "check", "--base", "HEAD", "--schemas", str(git_catalogue))
    assert code == 1
    assert "published version was modified" in out


def test_schema_check_base_fails_when_a_published_logical_type_is_edited(
    capsys: pytest.CaptureFixture[str], git_catalogue: Path
) -> None:
    path = git_catalogue / "checkout_started" / "v1.avsc"
    path.write_text(path.read_text().replace('"scale": 4', '"scale": 2'))
    code, out, _ = run(capsys, "schema", "check", "--base", "HEAD", "--schemas", str(git_catalogue))
    assert code == 1
    assert "checkout_started v1" in out
    assert "published version was modified" in out


def test_schema_check_base_fails_when_a_version_is_removed(
    capsys: pytest.CaptureFixture[str], git_catalogue: Path
) -> None:
    (git_catalogue / "order_completed" / "v2.avsc").unlink()
    code, out, _ = run(capsys, "schema", "check", "--base", "HEAD", "--schemas", str(git_catalogue))
    assert code == 1
    assert "published version was removed" in out


def test_schema_check_base_with_an_unknown_revision_is_bad_input(
    capsys: pytest.CaptureFixture[str], git_catalogue: Path
) -> None:
    code, _, err = run(
        capsys, "schema", "check", "--base", "no-such-ref", "--schemas", str(git_catalogue)
    )
    assert code == 2
    assert "no-such-ref" in err


def test_schema_fingerprint_prints_canonical_form_and_fingerprints(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    path = str(schemas_dir / "page_viewed" / "v1.avsc")
    code, out, _ = run(capsys, "schema", "fingerprint", path, "--canonical")
    assert code == 0
    assert out.splitlines()[0].startswith('canonical  {"name":"martech.events.PageViewed"')
    assert "rabin64" in out
    assert "sha256" in out


def test_schema_fingerprint_of_a_missing_file_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "schema", "fingerprint", str(tmp_path / "nope.avsc"))
    assert code == 2
    assert "nope.avsc" in err
