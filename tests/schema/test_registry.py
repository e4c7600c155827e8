"""The embedded schema registry: loading, lookups, ids and registration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from martech_bus.errors import IncompatibleSchemaError, SchemaError, UnknownSchemaError
from martech_bus.schema.envelope import ENVELOPE_FIELD_NAMES, envelope_fields
from martech_bus.schema.registry import SchemaRegistry, embedded_schema_id
from tests.schema.catalogue import copy_catalogue, simple_record, write_catalogue

REQUIRED_EVENTS = {
    "user_identified",
    "page_viewed",
    "product_viewed",
    "product_added_to_cart",
    "checkout_started",
    "order_completed",
    "lead_captured",
    "email_subscription_changed",
    "consent_updated",
}


@pytest.fixture(scope="module")
def registry(schemas_dir: Path) -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir)


def test_the_catalogue_holds_every_required_event(registry: SchemaRegistry) -> None:
    assert set(registry.subjects()) >= REQUIRED_EVENTS


def test_order_completed_has_two_versions_and_v2_only_adds_an_optional_field(
    registry: SchemaRegistry,
) -> None:
    v1, v2 = registry.versions("order_completed")
    names = lambda entry: [f["name"] for f in entry.schema["fields"][-1]["type"]["fields"]]  # noqa: E731
    assert set(names(v2)) - set(names(v1)) == {"shipping_method"}
    added = next(
        f for f in v2.schema["fields"][-1]["type"]["fields"] if f["name"] == "shipping_method"
    )
    assert added["default"] is None


def test_every_schema_embeds_the_canonical_envelope(registry: SchemaRegistry) -> None:
    expected = json.dumps(envelope_fields(), sort_keys=True)
    for entry in registry:
        fields = entry.schema["fields"]
        assert [f["name"] for f in fields] == [*ENVELOPE_FIELD_NAMES, "properties"], entry.subject
        assert json.dumps(fields[: len(ENVELOPE_FIELD_NAMES)], sort_keys=True) == expected, (
            entry.subject
        )


def test_pii_fields_are_tagged(registry: SchemaRegistry) -> None:
    fields = registry.latest("order_completed").schema["fields"][-1]["type"]["fields"]
    tags = {f["name"]: f.get("pii") for f in fields}
    assert tags["email"] == "email"
    assert tags["phone"] == "phone"


def test_the_latest_version_is_returned_by_default(registry: SchemaRegistry) -> None:
    assert registry.get("order_completed").version == 2


def test_a_schema_id_finds_its_version(registry: SchemaRegistry) -> None:
    entry = registry.get("order_completed", 1)
    assert registry.by_id(entry.schema_id) is entry


def test_schema_ids_derive_from_the_content_digest(registry: SchemaRegistry) -> None:
    entry = registry.get("page_viewed", 1)
    assert entry.schema_id == embedded_schema_id(entry.fingerprints.content)
    assert 0 < entry.schema_id < 2**31


def test_every_version_carries_the_fingerprints_of_its_schema(registry: SchemaRegistry) -> None:
    from martech_bus.schema.avro import fingerprints

    for entry in registry:
        assert entry.fingerprints == fingerprints(entry.schema)
        assert entry.fingerprints.rabin64 == fingerprints(entry.schema).rabin64


def test_schema_ids_are_stable_across_loads(schemas_dir: Path, registry: SchemaRegistry) -> None:
    again = SchemaRegistry.load(schemas_dir)
    assert [e.schema_id for e in again] == [e.schema_id for e in registry]


def test_an_unknown_event_type_suggests_the_closest_name(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="did you mean 'order_completed'"):
        registry.get("order_complete")


def test_an_unknown_version_lists_the_known_ones(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match=r"known: v1, v2"):
        registry.get("order_completed", 7)


def test_an_unknown_schema_id_is_named(registry: SchemaRegistry) -> None:
    with pytest.raises(UnknownSchemaError, match="unknown schema id 12"):
        registry.by_id(12)


def test_compatibility_modes_come_from_registry_yaml(registry: SchemaRegistry) -> None:
    assert registry.info("order_completed").compatibility == "BACKWARD_TRANSITIVE"
    assert registry.info("page_viewed").compatibility == "BACKWARD"


def test_a_catalogue_with_an_invalid_schema_does_not_load_at_all(
    schemas_dir: Path, tmp_path: Path
) -> None:
    root = copy_catalogue(schemas_dir, tmp_path / "schemas")
    (root / "page_viewed" / "v1.avsc").write_text(
        '{"type": "record", "name": "PageViewed"}', encoding="utf-8"
    )
    with pytest.raises(SchemaError) as caught:
        SchemaRegistry.load(root)
    assert any("page_viewed/v1.avsc" in str(p) for p in caught.value.problems)


def test_every_problem_in_a_catalogue_is_reported_together(tmp_path: Path) -> None:
    root = write_catalogue(
        tmp_path / "schemas",
        {
            "a": [simple_record({"name": "x", "type": "nope"})],
            "b": [{"type": "record", "name": "B"}],
        },
    )
    with pytest.raises(SchemaError) as caught:
        SchemaRegistry.load(root)
    assert len(caught.value.problems) == 2


def test_a_schema_directory_missing_from_registry_yaml_is_an_error(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "schemas", {"a": [simple_record()]})
    (root / "stray").mkdir()
    with pytest.raises(SchemaError, match="'stray' is not listed"):
        SchemaRegistry.load(root)


def test_versions_must_be_contiguous(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "schemas", {"a": [simple_record()]})
    (root / "a" / "v3.avsc").write_text(json.dumps(simple_record()), encoding="utf-8")
    with pytest.raises(SchemaError, match="missing v2"):
        SchemaRegistry.load(root)


def test_an_unknown_compatibility_mode_is_named_with_its_place(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "schemas", {"a": [simple_record()]}, a="SIDEWAYS")
    with pytest.raises(SchemaError) as caught:
        SchemaRegistry.load(root)
    assert "subjects.a.compatibility" in str(caught.value)


def test_invalid_registry_yaml_names_the_line(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "schemas", {"a": [simple_record()]})
    (root / "registry.yaml").write_text("subjects:\n  a: [unclosed\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"registry.yaml:3"):
        SchemaRegistry.load(root)


def test_a_missing_catalogue_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="not found"):
        SchemaRegistry.load(tmp_path / "nowhere")


def test_registering_a_compatible_version_appends_it(tmp_path: Path) -> None:
    root = write_catalogue(
        tmp_path / "schemas", {"a": [simple_record({"name": "x", "type": "int"})]}
    )
    registry = SchemaRegistry.load(root)
    newer = simple_record({"name": "x", "type": "int"}, {"name": "y", "type": "int", "default": 0})
    updated, entry = registry.register("a", newer, write=True)
    assert entry.version == 2
    assert updated.latest("a") is entry
    assert (root / "a" / "v2.avsc").exists()
    assert registry.latest("a").version == 1  # registries are immutable


def test_registering_an_incompatible_version_is_refused_with_reasons(tmp_path: Path) -> None:
    root = write_catalogue(
        tmp_path / "schemas", {"a": [simple_record({"name": "x", "type": "int"})]}
    )
    registry = SchemaRegistry.load(root)
    breaking = simple_record({"name": "x", "type": "int"}, {"name": "y", "type": "int"})
    with pytest.raises(IncompatibleSchemaError) as caught:
        registry.register("a", breaking)
    assert "BACKWARD" in str(caught.value)
    assert any("'y'" in str(p) for p in caught.value.problems)


def test_registering_an_identical_schema_returns_the_existing_version(tmp_path: Path) -> None:
    schema = simple_record({"name": "x", "type": "int"})
    registry = SchemaRegistry.load(write_catalogue(tmp_path / "schemas", {"a": [schema]}))
    again, entry = registry.register("a", dict(schema, doc="docs do not make a new version"))
    assert again is registry
    assert entry.version == 1


def test_a_logical_type_change_is_a_new_schema_not_the_same_one(tmp_path: Path) -> None:
    def money(scale: int) -> dict[str, object]:
        decimal = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": scale}
        return simple_record({"name": "total", "type": decimal})

    registry = SchemaRegistry.load(write_catalogue(tmp_path / "schemas", {"a": [money(4)]}))
    # Same Parsing Canonical Form (it drops logical types), different meaning: refused.
    with pytest.raises(IncompatibleSchemaError, match="scale"):
        registry.register("a", money(2))


def test_schemas_differing_only_in_a_logical_type_get_different_ids(tmp_path: Path) -> None:
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 4}
    root = write_catalogue(
        tmp_path / "schemas",
        {
            "a": [simple_record({"name": "x", "type": "bytes"})],
            "b": [simple_record({"name": "x", "type": decimal})],
        },
    )
    registry = SchemaRegistry.load(root)
    assert registry.get("a").schema_id != registry.get("b").schema_id


def test_central_ids_replace_embedded_ones(registry: SchemaRegistry) -> None:
    central = registry.with_ids({("order_completed", 1): 101, ("order_completed", 2): 102})
    assert central.get("order_completed", 2).schema_id == 102
    assert central.by_id(101).version == 1


def test_a_duplicate_subject_in_registry_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "schemas", {"a": [simple_record()]})
    (root / "registry.yaml").write_text("subjects:\n  a: {}\n  a: {}\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"registry.yaml:3:.*duplicate"):
        SchemaRegistry.load(root)
