"""The shared contract checks: fixtures render as expected, mappings and payloads are statically valid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from martech_bus.adapter.checks import check_adapter, item_pointer, run_fixtures
from martech_bus.adapter.loader import load_adapter, resolve_adapter
from martech_bus.mapping.checker import is_warning
from tests.adapters.helpers import registry

ROOT = Path(__file__).resolve().parents[2]


def test_item_pointers_follow_each_envelope() -> None:
    pointers = {
        name: item_pointer(resolve_adapter(name, ROOT / "adapters"))
        for name in ("meta_capi", "klaviyo", "braze", "ga4")
    }
    assert pointers == {
        "meta_capi": "/properties/data/items",
        "klaviyo": "/properties/data",
        "braze": "",
        "ga4": None,
    }


def test_a_mapping_that_drops_a_required_vendor_field_is_reported(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "adapters" / "meta_capi", tmp_path / "meta_capi")
    mapping = tmp_path / "meta_capi" / "mappings" / "order_completed.yaml"
    lines = [
        line
        for line in mapping.read_text().splitlines()
        if not line.strip().startswith("event_name:")
    ]
    mapping.write_text("\n".join(lines) + "\n")
    problems = [
        p
        for p in check_adapter(load_adapter(tmp_path / "meta_capi"), registry())
        if not is_warning(p)
    ]
    assert any("event_name" in str(p) for p in problems)


def test_a_fixture_whose_expected_body_differs_fails_with_a_diff(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "adapters" / "amplitude", tmp_path / "amplitude")
    expected = tmp_path / "amplitude" / "fixtures" / "order_completed_full.expected.json"
    body = json.loads(expected.read_text())
    body["events"][0]["insert_id"] = "something-else"
    expected.write_text(json.dumps(body))
    results = {r.case: r for r in run_fixtures(load_adapter(tmp_path / "amplitude"), registry())}
    failed = results["order_completed_full"]
    assert not failed.ok
    assert failed.diff is not None and "something-else" in failed.diff


def test_a_fixture_whose_input_is_invalid_fails_naming_the_problem(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "adapters" / "braze", tmp_path / "braze")
    source = tmp_path / "braze" / "fixtures" / "order_completed_full.input.json"
    event = json.loads(source.read_text())
    event["properties"]["currency"] = "EURO"
    source.write_text(json.dumps(event))
    result = {r.case: r for r in run_fixtures(load_adapter(tmp_path / "braze"), registry())}[
        "order_completed_full"
    ]
    assert not result.ok
    assert any("ISO 4217" in problem for problem in result.problems)
