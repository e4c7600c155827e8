"""The docs are real: the CLI reference is generated, the examples run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_cli_reference_is_generated_from_the_current_cli() -> None:
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "typer",
            "martech_bus.cli.main",
            "utils",
            "docs",
            "--name",
            "martech-bus",
            "--title",
            "CLI reference",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    checked_in = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert generated.strip() == checked_in.strip(), "docs/cli.md is stale: run `make cli-docs`"
