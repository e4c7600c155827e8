"""Scaffolds pass the contract at once, for every canonical event, next to the shipped adapters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.mapping.parser import load_mapping
from martech_bus.scaffold.adapter import AdapterPlan, infer_schema, scaffold_adapter
from martech_bus.scaffold.examples import example_event
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from tests.contract.helpers import ROOT, TODAY, failed, repo_copy, results

REGISTRY = SchemaRegistry.load(ROOT / "schemas")
SUBJECTS = REGISTRY.subjects()


def plan(vendor: str = "acme", event: str = "order_completed", **changes: object) -> AdapterPlan:
    settings: dict[str, object] = {
        "vendor": vendor,
        "event": event,
        "owner": "growth",
        "contact": "growth@example.com",
        "cadence": "sprint",
        "runbook": "https://wiki.example.com/acme/runbook",
        "expires_on": date(2027, 2, 18),
        "migration_plan": "https://wiki.example.com/acme/migration",
    }
    settings.update(changes)
    return AdapterPlan(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("minimal", [False, True], ids=["full", "minimal"])
def test_an_example_event_is_valid_for_every_subject(subject: str, minimal: bool) -> None:
    entry, _ = validate_event(REGISTRY, example_event(REGISTRY, subject, minimal=minimal))

    assert entry.subject == subject


def test_a_minimal_example_leaves_out_every_optional_field() -> None:
    event = example_event(REGISTRY, "order_completed", minimal=True)

    assert "user_id" not in event
    assert set(event["properties"]) == {"order_id", "total", "currency", "products"}


def test_an_adapter_for_every_event_passes_the_contract_next_to_the_shipped_ones(
    tmp_path: Path,
) -> None:
    repo = repo_copy(tmp_path, adapters=["meta_capi", "webhook"])
    for subject in SUBJECTS:
        scaffold_adapter(plan(f"v_{subject}", subject), repo / "adapters", REGISTRY, today=TODAY)

    found = results(repo)

    assert failed(found) == {}
    assert {f"v_{s}" for s in SUBJECTS} <= {Path(r.group).name for r in found.values()}
    assert [r.id for r in found.values() if "warning" in r.message and "/v_" in r.id] == []


def test_the_template_maps_a_property_named_like_a_directive_with_object(tmp_path: Path) -> None:
    made = scaffold_adapter(plan(event="page_viewed"), tmp_path, REGISTRY, today=TODAY)

    text = (made.folder / "mappings/page_viewed.yaml").read_text()
    spec = load_mapping(made.folder / "mappings/page_viewed.yaml")

    assert "    object:\n      path: {path: properties.path}" in text
    assert [read.path for read in spec.input_paths() if read.output == "properties.path"] == [
        "properties.path"
    ]


def test_the_template_hashes_email_and_phone_and_leaves_other_personal_data_out(
    tmp_path: Path,
) -> None:
    made = scaffold_adapter(plan(event="lead_captured"), tmp_path, REGISTRY, today=TODAY)

    text = (made.folder / "mappings/lead_captured.yaml").read_text()

    assert "email_sha256: {path: properties.email, transform: [{sha256: email}]}" in text
    assert "phone_sha256: {path: properties.phone, transform: [{sha256: phone}]}" in text
    assert "# left out, as personal data" in text
    assert "first_name: {path" not in text


def test_a_marathon_needs_neither_expiry_nor_migration_plan(tmp_path: Path) -> None:
    made = scaffold_adapter(
        plan(cadence="marathon", expires_on=None, migration_plan=None),
        tmp_path,
        REGISTRY,
        today=TODAY,
    )

    manifest = (made.folder / "adapter.yaml").read_text()
    assert "cadence: marathon" in manifest
    assert "expires_on" not in manifest


def test_a_sprint_without_a_plan_or_expiry_is_refused_listing_both(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        scaffold_adapter(
            plan(expires_on=None, migration_plan=None), tmp_path, REGISTRY, today=TODAY
        )

    assert [p.message.split(":")[0] for p in raised.value.problems] == [
        "--migration-plan",
        "--expires-on",
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_writing_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise ConfigError("the loader broke")

    monkeypatch.setattr("martech_bus.adapter.loader.load_adapter", broken)

    with pytest.raises(ConfigError):
        scaffold_adapter(plan(), tmp_path, REGISTRY, today=TODAY)

    assert list(tmp_path.iterdir()) == []


def test_an_inferred_schema_requires_only_keys_every_sample_has() -> None:
    schema = infer_schema([{"a": 1, "b": None, "c": [1.5]}, {"a": 2, "b": "x"}])

    assert schema["required"] == ["a", "b"]
    assert schema["properties"]["a"] == {"type": "integer"}
    assert schema["properties"]["b"] == {"type": ["null", "string"]}
    assert schema["properties"]["c"] == {"type": "array", "items": {"type": "number"}}
