"""`martech-bus contract-test` and `martech-bus new`: output, files and exit codes (0, 1, 2)."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from martech_bus.cli.main import main
from martech_bus.schema.envelope import envelope_fields
from tests.contract.helpers import repo_copy

FLAGS = [
    "--owner",
    "growth-engineering",
    "--contact",
    "growth@example.com",
    "--migration-plan",
    "https://wiki.example.com/acme/migration",
    "--runbook",
    "https://wiki.example.com/acme/runbook",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with the shipped catalogue and the amplitude adapter, as the working directory."""
    for name in ("SCHEMAS_DIR", "ADAPTERS_DIR", "SOURCES_DIR"):
        monkeypatch.delenv(f"MARTECH_BUS_{name}", raising=False)
    monkeypatch.chdir(repo_copy(tmp_path, adapters=["amplitude"]))
    return tmp_path


def test_contract_test_passes_with_a_table_and_exit_0(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "contract-test")

    assert code == 0
    assert "adapters/amplitude │     16 │     16 │      0" in out
    assert out.strip().endswith("36 checks: 36 passed, 0 failed, 1 warning")


def test_a_failed_check_exits_1_with_its_message_and_a_junit_report(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = repo / "adapters/amplitude/fixtures/page_viewed.expected.json"
    expected.write_text(expected.read_text().replace('"Page Viewed"', '"Page Seen"'))

    code, out, _ = run(capsys, "contract-test", "--junit-xml", "reports/contract.xml")

    assert code == 1
    assert "FAILED adapter/amplitude/fixture/page_viewed" in out
    assert '-      "event_type": "Page Seen",' in out
    report = ET.parse(repo / "reports/contract.xml").getroot()
    assert (report.get("tests"), report.get("failures")) == ("36", "1")


def test_verbose_lists_every_check_with_its_note(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "contract-test", "-v")

    assert "ok     compatibility/order_completed  BACKWARD_TRANSITIVE, 2 versions" in out


def test_contract_test_without_a_catalogue_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MARTECH_BUS_SCHEMAS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)

    code, _, err = run(capsys, "contract-test")

    assert code == 2
    assert "no schema catalogue at schemas" in err
    assert "Traceback" not in err


def test_base_adds_the_breaking_change_checks(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], cwd=repo, check=True)
    (repo / "schemas/order_completed/v2.avsc").unlink()

    code, out, _ = run(capsys, "contract-test", "--base", "HEAD")

    assert code == 1
    assert "FAILED base/order_completed" in out
    assert "published version was removed" in out


def test_new_adapter_scaffolds_a_folder_that_passes_the_contract(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "new", "adapter", "acme", *FLAGS)

    assert code == 0
    assert "adapter 'acme' is ready: its 7 contract checks pass." in out
    assert "martech-bus mapping render acme" in out
    assert sorted(
        p.relative_to(repo / "adapters/acme").as_posix()
        for p in (repo / "adapters/acme").rglob("*.*")
    ) == [
        "adapter.yaml",
        "fixtures/order_completed_full.expected.json",
        "fixtures/order_completed_full.input.json",
        "fixtures/order_completed_minimal.expected.json",
        "fixtures/order_completed_minimal.input.json",
        "handler.py",
        "mappings/order_completed.yaml",
        "payload.schema.json",
    ]
    assert run(capsys, "contract-test")[0] == 0


def test_new_adapter_without_a_terminal_names_every_missing_flag(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "new", "adapter", "acme", "--owner", "growth")

    assert code == 2
    assert "missing --contact, --runbook, --migration-plan" in err
    assert "stdin is not a terminal" in err
    assert not (repo / "adapters/acme").exists()


def test_new_adapter_asks_for_missing_values_on_a_terminal(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {
        "Owning team": "growth",
        "Contact (e.g. a team address)": "growth@example.com",
        "Cadence (sprint, hybrid, marathon)": "marathon",
        "Runbook (a link)": "https://wiki.example.com/acme/runbook",
    }
    asked: list[str] = []

    def prompt(question: str, default: str | None = None) -> str:
        asked.append(question)
        return answers[question]

    monkeypatch.setattr("martech_bus.cli.new._interactive", lambda: True)
    monkeypatch.setattr("typer.prompt", prompt)

    code, _, _ = run(capsys, "new", "adapter", "acme")

    assert code == 0
    assert asked == list(answers)  # a marathon has no expiry or migration plan to ask for
    manifest = (repo / "adapters/acme/adapter.yaml").read_text()
    assert "cadence: marathon" in manifest
    assert "expires_on" not in manifest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Acme"], "VENDOR must be lower_case"),
        (["acme", "--event", "order_complete"], "did you mean 'order_completed'"),
        (["acme", "--expires-on", "2020-01-01"], "--expires-on must be after today"),
        (["acme", "--expires-on", "soon"], "--expires-on must be a date written YYYY-MM-DD"),
        (["amplitude"], "already exists"),
    ],
)
def test_new_adapter_refuses_a_bad_request_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = sorted(p.name for p in (repo / "adapters").iterdir())

    code, _, err = run(capsys, "new", "adapter", *argv, *FLAGS)

    assert code == 2
    assert message in err
    assert sorted(p.name for p in (repo / "adapters").iterdir()) == before


def test_new_event_writes_a_v1_with_the_envelope_and_lists_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "new",
        "event",
        "order_refunded",
        "--description",
        "An order was refunded.",
        "--owner",
        "commerce",
        "--property",
        "order_id:string",
        "--property",
        "amount:decimal",
        "--property",
        "reason:string?",
    )

    assert code == 0
    assert "martech-bus new adapter VENDOR --event order_refunded" in out
    schema = json.loads((repo / "schemas/order_refunded/v1.avsc").read_text())
    assert schema["name"] == "OrderRefunded"
    assert schema["fields"][:-1] == envelope_fields()
    properties = schema["fields"][-1]["type"]["fields"]
    assert [f["name"] for f in properties] == ["order_id", "amount", "reason"]
    assert properties[2] == {"name": "reason", "type": ["null", "string"], "default": None}
    registry = (repo / "schemas/registry.yaml").read_text()
    assert registry.rstrip().endswith(
        '  order_refunded:\n    description: "An order was refunded."\n    owner: "commerce"'
    )
    assert registry.startswith("# The canonical event catalogue.")
    assert run(capsys, "contract-test")[0] == 0


def test_an_adapter_can_be_scaffolded_for_a_new_event(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "new", "event", "order_refunded", "--property", "order_id:string")

    code, _, _ = run(capsys, "new", "adapter", "acme", "--event", "order_refunded", *FLAGS)

    assert code == 0
    assert run(capsys, "contract-test")[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["order_completed"], "already exists"),
        (["refund", "--property", "amount:money"], "write NAME:TYPE"),
        (["refund", "--compatibility", "SIDEWAYS"], "SIDEWAYS"),
        (["refund", "--property", "a:string", "--property", "a:int"], "duplicate field name 'a'"),
    ],
)
def test_new_event_refuses_a_bad_request_and_changes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    registry = (repo / "schemas/registry.yaml").read_text()
    folders = sorted(p.name for p in (repo / "schemas").iterdir())

    code, _, err = run(capsys, "new", "event", *argv)

    assert code == 2
    assert message in err
    assert (repo / "schemas/registry.yaml").read_text() == registry
    assert sorted(p.name for p in (repo / "schemas").iterdir()) == folders


def test_a_base_git_cannot_read_is_a_usage_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)

    code, _, err = run(capsys, "contract-test", "--base", "no-such-ref")

    assert code == 2
    assert "--base no-such-ref" in err
