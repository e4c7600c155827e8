"""The contract runner: which checks exist, and what each says when it fails."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from martech_bus.contract import Contract
from tests.contract.helpers import ROOT, TODAY, failed, repo_copy, results, roots
from tests.schema.catalogue import simple_record, write_catalogue


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _edit_json(path: Path, change: Callable[[Any], object]) -> None:
    """Read ``path`` as JSON, let ``change`` edit it in place, and write it back."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_every_shipped_schema_adapter_and_source_passes_the_contract() -> None:
    found = Contract(roots(ROOT), today=TODAY).run()

    assert [r.id for r in found if not r.passed] == []
    assert {r.kind for r in found} >= {
        "catalogue",
        "schema",
        "compatibility",
        "manifest",
        "expiry",
        "governance",
        "mapping",
        "fixture",
        "coverage",
    }


def test_check_ids_are_unique_and_name_their_folder() -> None:
    checks = Contract(roots(ROOT), today=TODAY).checks()

    assert len({c.id for c in checks}) == len(checks)
    assert "adapter/meta_capi/fixture/order_completed_full" in {c.id for c in checks}
    assert "source/shopify/fixture/orders_create" in {c.id for c in checks}
    assert all(c.id.endswith(c.name) for c in checks)


def test_planning_runs_nothing(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["braze"])
    (repo / "schemas" / "registry.yaml").write_text("not: [valid", encoding="utf-8")

    checks = Contract(roots(repo), today=TODAY).checks()

    assert "adapter/braze/manifest" in {c.id for c in checks}


def test_a_fixture_whose_body_changed_fails_with_a_diff(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["amplitude"])
    _edit_json(
        repo / "adapters/amplitude/fixtures/order_completed_full.expected.json",
        lambda body: body["events"][0].update(insert_id="something-else"),
    )

    message = failed(results(repo))["adapter/amplitude/fixture/order_completed_full"]

    assert '-      "insert_id": "something-else",' in message
    assert "+++ rendered" in message


def test_a_body_the_payload_schema_refuses_fails_naming_the_field(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["amplitude"])
    _edit_json(
        repo / "adapters/amplitude/payload.schema.json",
        lambda schema: schema["properties"]["events"].update(maxItems=0),
    )

    problems = failed(results(repo))

    assert "payload schema: /events" in problems["adapter/amplitude/fixture/order_completed_full"]


def test_an_invalid_schema_file_fails_its_own_check_and_the_catalogue(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path)
    _edit(repo / "schemas/page_viewed/v1.avsc", '"type": "int"', '"type": "integer"')

    problems = failed(results(repo))

    assert "integer" in problems["schema/page_viewed/v1"]
    assert "catalogue" in problems
    assert problems["compatibility/order_completed"].endswith("see check catalogue")


def test_a_breaking_version_fails_its_subjects_compatibility(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path)
    shutil.copy(
        ROOT / "examples/schema-changes/order_completed_v3_breaking.avsc",
        repo / "schemas/order_completed/v3.avsc",
    )

    problems = failed(results(repo))

    assert set(problems) == {"compatibility/order_completed"}
    assert "decimal scale changed from 4 to 2" in problems["compatibility/order_completed"]


@pytest.mark.parametrize(("mode", "breaks"), [("BACKWARD", False), ("BACKWARD_TRANSITIVE", True)])
def test_a_transitive_mode_checks_every_earlier_version(
    tmp_path: Path, mode: str, breaks: bool
) -> None:
    x = {"name": "x", "type": "string"}
    write_catalogue(
        tmp_path / "schemas",
        {
            "thing": [
                simple_record(x),
                simple_record(x, {"name": "y", "type": "int", "default": 0}),
                simple_record(x, {"name": "y", "type": "int"}),
            ]
        },
        thing=mode,
    )

    result = results(tmp_path)["compatibility/thing"]

    assert result.passed is not breaks
    if breaks:
        assert "'y' has no default" in result.message


def test_a_manifest_without_a_runbook_or_payload_schema_is_incomplete(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["klaviyo"])
    _edit(repo / "adapters/klaviyo/adapter.yaml", "runbook:", "# runbook:")
    (repo / "adapters/klaviyo/payload.schema.json").unlink()

    message = failed(results(repo))["adapter/klaviyo/manifest"]

    assert "runbook" in message
    assert "payload.schema.json" in message


def test_an_expired_adapter_fails_with_its_migration_plan_and_owner(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["braze"])

    found = results(repo, today=date(2027, 2, 3))

    message = failed(found)["adapter/braze/expiry"]
    assert "expired on 2027-01-31 (3 days ago)" in message
    assert "https://wiki.example.com/martech/braze/migration" in message
    assert "crm-engineering" in message
    assert found["adapter/braze/manifest"].passed


def test_an_adapter_on_its_last_day_has_not_expired(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["braze"])

    assert results(repo, today=date(2027, 1, 31))["adapter/braze/expiry"].passed


def test_an_expired_gateway_source_fails_until_extended_or_retired(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, sources=["shopify"])

    message = failed(results(repo, today=date(2027, 4, 1)))["source/shopify/expiry"]

    assert "https://wiki.example.com/martech/shopify-gateway/migration" in message
    assert "extended" in message
    assert "retired" in message


def test_a_cadence_the_governance_scores_contradict_fails(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["braze"])
    _edit(repo / "adapters/braze/adapter.yaml", "business_impact: 1}", "business_impact: 3}")

    assert "contradicts" in failed(results(repo))["adapter/braze/governance"]


def test_a_mapping_reading_a_missing_field_fails_with_its_line(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["klaviyo"])
    _edit(
        repo / "adapters/klaviyo/mappings/product_viewed.yaml",
        "properties.product_id",
        "properties.product_idd",
    )

    message = failed(results(repo))["adapter/klaviyo/mapping/product_viewed"]

    assert re.search(r"product_viewed\.yaml:\d+:\d+", message)
    assert "product_idd" in message


def test_a_mapping_kept_for_rollback_is_checked_too(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["meta_capi"])
    _edit(
        repo / "adapters/meta_capi/mappings/order_completed.v2.yaml",
        "properties.order_id",
        "properties.order_idd",
    )

    problems = failed(results(repo))

    assert list(problems) == ["adapter/meta_capi/mapping/order_completed.v2"]


def test_an_adapter_that_does_not_load_is_reported_once_in_full(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["ga4"])
    _edit(repo / "adapters/ga4/adapter.yaml", "cadence: hybrid", "cadence: sprintt")

    problems = failed(results(repo))

    assert "sprintt" in problems["adapter/ga4/manifest"]
    assert problems["adapter/ga4/fixture/order_completed_full"] == (
        "adapter 'ga4' does not load; see check adapter/ga4/manifest"
    )


def test_a_mapped_event_without_a_fixture_fails_coverage(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["amplitude"])
    for path in (repo / "adapters/amplitude/fixtures").glob("page_viewed.*"):
        path.unlink()

    assert "no fixture for page_viewed" in failed(results(repo))["adapter/amplitude/coverage"]


def test_a_fixture_without_its_expected_file_fails(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, adapters=["amplitude"])
    (repo / "adapters/amplitude/fixtures/page_viewed.expected.json").unlink()

    assert "has no expected file" in failed(results(repo))["adapter/amplitude/fixture/page_viewed"]


def test_a_source_fixture_that_normalizes_differently_fails_with_a_diff(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, sources=["shopify"])
    _edit_json(
        repo / "sources/shopify/fixtures/orders_create.expected.json",
        lambda events: events[0]["properties"].update(order_id="elsewhere"),
    )

    message = failed(results(repo))["source/shopify/fixture/orders_create"]

    assert '"order_id": "elsewhere"' in message
    assert "normalized" in message


def test_an_inbound_mapping_producing_an_unknown_version_fails(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path, sources=["shopify"])
    _edit(repo / "sources/shopify/mappings/order_completed.yaml", "versions: [2]", "versions: [7]")

    problems = failed(results(repo))

    assert "version(s) 7" in problems["source/shopify/mapping/order_completed"]


def test_base_reports_an_edited_published_version(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "catalogue")
    _edit(
        repo / "schemas/page_viewed/v1.avsc",
        '"name": "title",',
        '"name": "title", "aliases": ["headline"],',
    )

    problems = failed(results(repo, base="HEAD"))

    assert list(problems) == ["base/page_viewed"]
    assert "published version was modified" in problems["base/page_viewed"]


def test_an_unknown_base_is_one_failed_check(tmp_path: Path) -> None:
    repo = repo_copy(tmp_path)
    _git(repo, "init", "-q")

    problems = failed(results(repo, base="no-such-ref"))

    assert list(problems) == ["base"]
    assert "no-such-ref" in problems["base"]
