"""Helpers for adapter tests: the repository's adapters, a scratch adapter, readable diffs."""

from __future__ import annotations

import difflib
import json
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from martech_bus.adapter import Adapter, find_adapters
from martech_bus.errors import ConfigError, Problem
from martech_bus.schema.registry import SchemaRegistry

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS_DIR = ROOT / "adapters"

#: A valid sprint manifest for a scratch adapter called "acme"; tests edit it to break it.
MANIFEST = """\
name: acme
display_name: Acme Analytics
owner:
  team: growth
  contact: growth@example.com
cadence: sprint
expires_on: "2027-03-31"
migration_plan: https://wiki.example.com/acme/migration
endpoint:
  url: https://api.acme.example/v1/{account}/events
  params:
    account: env:ACME_ACCOUNT
  auth:
    scheme: bearer
    secret: env:ACME_TOKEN
batch:
  max_events: 10
  envelope:
    events: {path: items}
consent:
  purposes: [analytics]
mappings:
  order_completed: 2
"""

MAPPING = """\
mapping_version: {version}
source:
  event: {event}
  versions: [1, 2]
output:
  name: order
  id: {{path: event_id}}
"""


@cache
def repo_adapters() -> tuple[Adapter, ...]:
    return tuple(find_adapters(ADAPTERS_DIR))


@cache
def registry() -> SchemaRegistry:
    return SchemaRegistry.load(ROOT / "schemas")


def scratch_adapter(
    base: Path,
    manifest: str = MANIFEST,
    mappings: dict[str, str] | None = None,
    *,
    name: str = "acme",
) -> Path:
    """Write an adapter folder (manifest + mapping files) and return it."""
    folder = base / name
    (folder / "mappings").mkdir(parents=True)
    (folder / "adapter.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    files = (
        {"order_completed.yaml": MAPPING.format(version=2, event="order_completed")}
        if mappings is None
        else mappings
    )
    for file, text in files.items():
        (folder / "mappings" / file).write_text(text, encoding="utf-8")
    return folder


def problems(error: ConfigError) -> list[Problem]:
    return error.problems or [Problem(error.message, error.location)]


def the_problem(error: ConfigError, path: str) -> Problem:
    """The one problem reported at ``path`` (the key path), failing readably otherwise."""
    found = [p for p in problems(error) if p.location.path == path]
    assert len(found) == 1, f"expected one problem at {path!r}, got:\n{error}"
    return found[0]


def load_error(folder: Path) -> ConfigError:
    from martech_bus.adapter import load_adapter

    with pytest.raises(ConfigError) as caught:
        load_adapter(folder)
    return caught.value


def json_diff(expected: Any, actual: Any) -> str:
    """A unified diff of two JSON values, pretty-printed with sorted keys."""

    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    return "\n".join(
        difflib.unified_diff(lines(expected), lines(actual), "expected", "rendered", lineterm="")
    )


def strings_in(value: Any) -> set[str]:
    """Every string anywhere in a JSON value (keys excluded)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(strings_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(strings_in(v) for v in value)) if value else set()
    return set()


def keys_in(value: Any) -> set[str]:
    """Every object key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value).union(*(keys_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_in(v) for v in value)) if value else set()
    return set()
