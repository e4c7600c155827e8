"""docs/migration.md is real: its `martech-bus flag` commands run, in order, as documented."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from martech_bus.routing.store_env import EnvFlagStore
from tests.routing.conftest import run

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "migration.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def commands() -> list[list[str]]:
    lines = [line for block in blocks("bash") for line in block.splitlines()]
    return [
        shlex.split(line, comments=True)[1:] for line in lines if line.startswith("martech-bus ")
    ]


def test_the_documented_commands_run_in_order(
    capsys: pytest.CaptureFixture[str],
    cli: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copy(ROOT / "flags.yaml", tmp_path / "flags.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MARTECH_BUS_ADAPTERS_DIR", str(ROOT / "adapters"))
    documented = commands()
    assert [argv[:2] for argv in documented][-3:] == [
        ["flag", "set"],
        ["flag", "rollback"],
        ["flag", "check"],
    ]
    for argv in documented[:-1]:
        code, out, err = run(capsys, *argv)
        assert code == 0, (argv, out, err)
    # The rollback restored the 50 % rollout, whose end date the last flip had cleared.
    code, _, err = run(capsys, *documented[-1])
    assert code == 1
    assert "braze: shadow -> bus at 50% is a transitional setting without expires_on" in err


def test_the_documented_yaml_file_reads(tmp_path: Path) -> None:
    from martech_bus.routing.store_yaml import YamlFlagStore

    (example,) = blocks("yaml")
    (tmp_path / "flags.yaml").write_text(example, encoding="utf-8")
    assert [flag.integration for flag in YamlFlagStore(tmp_path / "flags.yaml").list()] == [
        "braze",
        "shopify:braze",
    ]


def test_the_documented_environment_variables_read() -> None:
    (block,) = [block for block in blocks("bash") if "MARTECH_BUS_FLAG_" in block]
    for line in block.splitlines():
        name, _, value = line.split("#")[0].strip().partition("=")
        (flag,) = EnvFlagStore(environ={name: value}).list()
        assert flag.setting.compact() == value
