"""The publishing example in docs/kafka.md runs as written, against a real broker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from martech_bus.testing.kafka import EmbeddedBroker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "kafka.md"
MARKER = "<!-- runs in tests/bus/test_docs_example.py -->"


def _example() -> str:
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"{DOC}: no python block after {MARKER}"
    return found.group(1)


def test_the_publishing_example_in_the_kafka_docs_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_example(), encoding="utf-8")
    # A private broker: the example uses the real topic names from ./bus.yaml.
    with EmbeddedBroker() as broker:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MARTECH_BUS_")},
            "MARTECH_BUS_KAFKA_BOOTSTRAP": broker.bootstrap,
        }
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "1 confirmed"
    assert " martech.order_completed.v1 " in done.stdout
