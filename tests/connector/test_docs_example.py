"""The Python example in docs/connector.md runs as written.

It uses the convention's topic names, so it gets a private embedded broker rather
than a namespace on the shared one.
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from martech_bus.schema.registry import SchemaRegistry
from martech_bus.testing.kafka import EmbeddedBroker
from tests.connector.conftest import EVENT_TYPES, World
from tests.connector.helpers import ROOT, Bus, Vendor, order


def test_the_python_example_delivers(
    offline: World, registry: SchemaRegistry, vendor: Vendor, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "connector.md").read_text(encoding="utf-8")
    (example,) = re.findall(
        r"<!-- runs in tests/connector/test_docs_example.py -->\n```python\n(.*?)```", text, re.S
    )
    with EmbeddedBroker() as broker:
        private = Bus(broker.bootstrap, "", registry)
        private.create(EVENT_TYPES)
        private.publish([order(n) for n in range(3)])
        monkeypatch.setenv("MARTECH_BUS_KAFKA_BOOTSTRAP", broker.bootstrap)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example, "docs/connector.md", "exec"), {})

    assert printed.getvalue() == "3 delivered\n"
    assert vendor.distinct() == 3
