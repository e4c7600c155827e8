"""The pytest example in docs/kafka.md runs, as a user would run it, against a real broker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from martech_bus.testing.kafka import EmbeddedBroker

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "kafka.md"
MARKER = "<!-- runs in tests/kafka/test_docs_example.py -->"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(MARKER) + r"\n```python\n(.*?)```", text, re.DOTALL)
    assert found, f"{DOC}: no python block after {MARKER}"
    return found.group(1)


def test_the_kafka_docs_pytest_example_passes_against_the_embedded_broker(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from martech_bus.testing.kafka import kafka_bootstrap, kafka_broker  # noqa: F401\n"
    )
    (tmp_path / "test_example.py").write_text(_example())

    # A private broker, named through the variable, keeps the example's fixed topic name clean.
    with EmbeddedBroker() as broker:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "MARTECH_BUS_KAFKA_BOOTSTRAP": broker.bootstrap},
            timeout=120,
            check=False,
        )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
