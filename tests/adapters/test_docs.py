"""The examples in docs/adapters.md are real: the manifest loads, the errors are the ones raised."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from martech_bus.adapter import load_adapter
from martech_bus.schema.validate import validate_event
from martech_bus.yamlfile.loader import parse_yaml
from martech_bus.yamlfile.nodes import YMap
from tests.adapters.helpers import (
    ADAPTERS_DIR,
    MAPPING,
    ROOT,
    load_error,
    registry,
    scratch_adapter,
)

DOC = ROOT / "docs" / "adapters.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
YAML = [body for lang, body in BLOCKS if lang == "yaml"]
EXAMPLE = next(body for body in YAML if body.startswith("name: acme"))
ERRORS = [body for body in YAML if body.startswith("# error:")]
MAPPINGS = {
    "order_completed.yaml": MAPPING.format(version=3, event="order_completed"),
    "email_subscription_changed.yaml": MAPPING.format(
        version=1, event="email_subscription_changed"
    ),
}


def with_sections(manifest: str, fragment: str) -> str:
    """The manifest with the fragment's top-level sections replacing its own."""
    replaced = parse_yaml(fragment)
    assert isinstance(replaced, YMap)
    for key in replaced.key_names():
        manifest = re.sub(rf"(?ms)^{key}:.*?(?=^\S|\Z)", "", manifest)
    return manifest + fragment


def test_the_documented_manifest_loads(tmp_path: Path) -> None:
    adapter = load_adapter(scratch_adapter(tmp_path, EXAMPLE, MAPPINGS))
    body = adapter.build_body([{"id": 1}], {"api_key": "k"})
    assert body == {"api_key": "k", "events": [{"id": 1}]}


@pytest.mark.parametrize("block", ERRORS, ids=lambda b: b.splitlines()[0][9:50])
def test_a_documented_error_is_the_error_raised(tmp_path: Path, block: str) -> None:
    expected = block.splitlines()[0].removeprefix("# error: ")
    error = load_error(scratch_adapter(tmp_path, with_sections(EXAMPLE, block), MAPPINGS))
    assert expected in str(error)


def test_the_documented_python_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_ADAPTERS_DIR", str(ADAPTERS_DIR))
    source = next(body for lang, body in BLOCKS if lang == "python" and "resolve_adapter" in body)
    raw = (ADAPTERS_DIR / "meta_capi" / "fixtures" / "order_completed_full.input.json").read_text()
    _, event = validate_event(registry(), json.loads(raw))
    scope: dict[str, object] = {"event": event}
    exec(compile(source, str(DOC), "exec"), scope)
    assert scope["body"] == json.loads(
        (ADAPTERS_DIR / "meta_capi" / "fixtures" / "order_completed_full.expected.json").read_text()
    )
