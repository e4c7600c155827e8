"""docs/contract-testing.md is real: its tutorial, outputs, test file and CI files all run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from martech_bus.contract import Contract, ContractRoots
from tests.contract.helpers import ROOT

DOC = ROOT / "docs" / "contract-testing.md"
TEXT = DOC.read_text(encoding="utf-8")
#: ```lang title="path"``` or ```lang```, with its body, in document order.
BLOCK = re.compile(r'```(\w+)(?: title="([^"]+)")?\n(.*?)```', re.S)
BIN = Path(sys.executable).parent


def section(heading: str) -> str:
    start = TEXT.index(f"\n## {heading}")
    end = TEXT.find("\n## ", start + 1)
    return TEXT[start : end if end != -1 else None]


def blocks(text: str) -> list[tuple[str, str | None, str]]:
    return [(lang, title or None, body) for lang, title, body in BLOCK.findall(text)]


def titled(title: str) -> str:
    [body] = [body for _, name, body in blocks(TEXT) if name == title]
    return body


def commands(body: str) -> Iterator[tuple[str, list[str]]]:
    """Each ``$ command`` of a console block with the output lines shown under it."""
    command: str | None = None
    shown: list[str] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, shown
            command, shown = line[2:], []
        elif command is not None:
            shown.append(line)
    if command is not None:
        yield command, shown


def run(repo: Path, command: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MARTECH_BUS_", "PYTEST_"))
    }
    environ.update(PATH=f"{BIN}{os.pathsep}{environ.get('PATH', '')}", **env)
    return subprocess.run(
        command, shell=True, cwd=repo, env=environ, capture_output=True, text=True, check=False
    )


def assert_shown(shown: list[str], output: str, prefix: str = "") -> None:
    """Every line the doc shows appears in the output, in order ("..." skips ahead)."""
    actual = [line.replace(prefix, "") for line in output.splitlines()]
    position = 0
    for line in shown:
        if not line.strip() or line.strip() == "...":
            continue
        found = next(
            (n for n in range(position, len(actual)) if line.strip() in actual[n]),
            None,
        )
        assert found is not None, f"{line!r} not in the output after line {position}:\n{output}"
        position = found + 1


def execute(repo: Path, body: str) -> None:
    """Run a console block: a command whose shown output has FAILED must exit 1, others 0."""
    for command, shown in commands(body):
        done = run(repo, command)
        expected = 1 if any(line.startswith("FAILED") for line in shown) else 0
        assert done.returncode == expected, f"$ {command}\n{done.stdout}{done.stderr}"
        assert_shown(shown, done.stdout)


def write(repo: Path, title: str, body: str) -> None:
    path = repo / title
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository (with git history and an ``origin/main``) after following the tutorial."""
    repo = tmp_path_factory.mktemp("tutorial")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    git = "git -c user.name=t -c user.email=t@example.com"
    for step in ("init -q -b main", "add .", "commit -q -m catalogue"):
        assert run(repo, f"{git} {step}").returncode == 0
    assert run(repo, "git update-ref refs/remotes/origin/main HEAD").returncode == 0
    for lang, title, body in blocks(section("Tutorial")):
        if title is not None:
            write(repo, title, body)
        elif lang == "console":
            execute(repo, body)
    return repo


def test_the_tutorial_runs_from_scaffold_to_a_passing_contract(tutorial: Path) -> None:
    assert (tutorial / "adapters/acme/mappings/order_completed.yaml").read_text() == titled(
        "adapters/acme/mappings/order_completed.yaml"
    )


def test_the_tutorial_states_how_long_it_took() -> None:
    assert re.search(r"\d+ seconds from the first command", section("Tutorial"))


def test_the_pytest_and_command_line_examples_run(tutorial: Path) -> None:
    for heading in ("With pytest", "With `martech-bus contract-test`"):
        for lang, _, body in blocks(section(heading)):
            if lang == "console":
                execute(tutorial, body)


def test_the_shown_pytest_failure_is_what_pytest_prints(tutorial: Path, tmp_path: Path) -> None:
    repo = Path(shutil.copytree(tutorial, tmp_path / "repo"))
    mapping = repo / "adapters/acme/mappings/order_completed.yaml"
    mapping.write_text(
        mapping.read_text().replace(
            "[{cast: float}]}\n  currency", "[{round: 1}, {cast: float}]}\n  currency"
        )
    )
    [shown] = [body for lang, _, body in blocks(section("With pytest")) if lang == "text"]

    done = run(repo, "pytest -p no:cacheprovider")

    assert done.returncode == 1
    assert_shown(shown.splitlines(), done.stdout, prefix=f"{repo}/")


def test_the_users_test_file_passes_with_the_plugins_fixtures(
    tutorial: Path, tmp_path: Path
) -> None:
    repo = Path(shutil.copytree(tutorial, tmp_path / "repo"))
    write(repo, "tests/test_acme.py", titled("tests/test_acme.py"))

    done = run(repo, "pytest -q -p no:cacheprovider tests")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_the_expiry_message_shown_is_the_one_given(monkeypatch: pytest.MonkeyPatch) -> None:
    [shown] = [body for lang, _, body in blocks(section("The checks")) if lang == "text"]
    monkeypatch.chdir(ROOT)
    for name in ("SCHEMAS_DIR", "ADAPTERS_DIR", "SOURCES_DIR"):
        monkeypatch.delenv(f"MARTECH_BUS_{name}", raising=False)
    contract = Contract(ContractRoots.resolve(), today=date(2027, 2, 3))

    [check] = [c for c in contract.checks() if c.id == "adapter/braze/expiry"]

    assert check.run().message == shown.strip()


def test_the_new_event_example_runs(tutorial: Path, tmp_path: Path) -> None:
    repo = Path(shutil.copytree(tutorial, tmp_path / "repo"))
    for lang, _, body in blocks(section("Scaffolding a canonical event")):
        if lang == "console":
            execute(repo, body)

    assert (repo / "schemas/order_refunded/v1.avsc").is_file()


def _ci_commands(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("martech-bus ")]


def test_the_github_workflow_runs_the_contract_with_the_history_it_needs(
    tutorial: Path, tmp_path: Path
) -> None:
    workflow: Any = yaml.safe_load(titled(".github/workflows/contract.yml"))
    steps = workflow["jobs"]["contract"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    [command] = _ci_commands([str(s.get("run", "")) for s in steps])
    repo = Path(shutil.copytree(tutorial, tmp_path / "repo"))

    done = run(repo, command.replace("${{ github.base_ref || 'main' }}", "main"))

    assert checkout["with"]["fetch-depth"] == 0
    assert set(workflow[True]) >= {"pull_request", "schedule"}  # YAML 1.1 reads "on" as True
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "reports/contract.xml").is_file()


def test_the_gitlab_job_runs_the_contract_and_publishes_its_report(
    tutorial: Path, tmp_path: Path
) -> None:
    job: Any = yaml.safe_load(titled(".gitlab-ci.yml"))["contract"]
    [command] = _ci_commands(job["script"])
    repo = Path(shutil.copytree(tutorial, tmp_path / "repo"))

    done = run(repo, command, CI_DEFAULT_BRANCH="main")

    assert job["variables"]["GIT_DEPTH"] == "0"
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / job["artifacts"]["reports"]["junit"]).is_file()


def test_the_page_is_in_the_site_navigation() -> None:
    assert "contract-testing.md" in (ROOT / "mkdocs.yml").read_text()
    assert "contract-testing.md" in (ROOT / "docs" / "index.md").read_text()
