"""Model codegen: the checked-in models equal what the catalogue generates, and the generator
emits lint-clean, formatted, faithful code for every Avro type it supports."""

from __future__ import annotations

import importlib
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import fastavro
import pydantic
import pytest

from martech_bus.errors import ConfigError, SchemaError
from martech_bus.schema.codegen import HEADER, check, generate, write
from martech_bus.schema.registry import SchemaRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "src" / "martech_bus" / "events"
RUFF = Path(sys.executable).with_name("ruff")
LONG_DOC = (
    "A documentation string long enough that it cannot fit on one line of generated code, so "
    'the generator must split it into several pieces, "quoted" parts and all.'
)
EVENT_ID = "0b7e4d8c-2f6a-4c1e-9d3b-5a6f7e8d9c0b"


@pytest.fixture(scope="module")
def catalogue_files() -> dict[str, str]:
    return generate(SchemaRegistry.load(REPO_ROOT / "schemas"))


def entry(subject: str, version: int, schema: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(subject=subject, version=version, schema=schema)


def record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "record",
        "name": name,
        "namespace": "test.synth",
        "fields": list(fields),
        **extra,
    }


def everything(version: int) -> dict[str, Any]:
    """A schema using every type, logical type and kind of default the generator supports."""
    point: list[dict[str, Any]] = [
        {"name": "x", "type": "int"},
        {"name": "y", "type": "int", "default": 0},
    ]
    if version == 2:
        point.append({"name": "z", "type": "int", "default": 0})
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}
    fixed_decimal = {"type": "fixed", "name": "Price", "size": 8, "logicalType": "decimal"}
    fixed_decimal |= {"precision": 12, "scale": 3}
    color = {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"], "doc": "A colour."}
    node = record(
        "Node",
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "Node"], "default": None},
    )
    return record(
        "Everything",
        {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "event_type", "type": "string"},
        {"name": "schema_version", "type": "int"},
        {"name": "user_id", "type": ["null", "string"], "default": None},
        {"name": "anonymous_id", "type": ["null", "string"], "default": None},
        {"name": "flag", "type": "boolean", "default": True},
        {"name": "count", "type": "int", "default": -3},
        {"name": "big", "type": "long", "default": 2**53 + 1},
        {"name": "ratio", "type": "float", "default": 0.5},
        {"name": "precise", "type": "double", "default": 1},
        {"name": "blob", "type": "bytes", "default": '\u00ff\u0000a"\\'},
        {"name": "label", "type": "string", "default": 'it\'s "quoted" \\ back\n'},
        {"name": "long_label", "type": "string", "default": LONG_DOC},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}, "default": 1},
        {
            "name": "at_us",
            "type": {"type": "long", "logicalType": "timestamp-micros"},
            "default": 1,
        },
        {"name": "day", "type": {"type": "int", "logicalType": "date"}, "default": 19000},
        {"name": "amount", "type": decimal, "default": "\u0004\u00d2"},
        {"name": "hash", "type": {"type": "fixed", "name": "Md5", "size": 4}},
        {"name": "hashes", "type": {"type": "array", "items": "Md5"}, "default": []},
        {"name": "price", "type": fixed_decimal},
        {"name": "price2", "type": ["null", "Price"], "default": None},
        {"name": "color", "type": color, "default": "GREEN"},
        {"name": "colors", "type": {"type": "map", "values": "Color"}, "default": {"a": "RED"}},
        {"name": "choice", "type": ["string", "int", "Color"], "default": "x"},
        {"name": "point", "type": record("Point", *point), "default": {"x": 1}},
        {"name": "points", "type": {"type": "array", "items": "Point"}, "default": [{"x": 2}]},
        {"name": "maybe_point", "type": ["null", "Point"], "default": None},
        {"name": "node", "type": node},
        {"name": "camelCase", "type": "string", "default": ""},
        {"name": "from", "type": "string", "default": "", "doc": "A keyword."},
        {"name": "_hidden", "type": "string", "default": ""},
        {"name": "json", "type": "string", "default": ""},
        {"name": "currency", "type": "string", "format": "iso4217", "default": "EUR"},
        {
            "name": "noted",
            "type": ["null", "string"],
            "default": None,
            "pii": "email",
            "doc": LONG_DOC,
        },
        doc=f"{LONG_DOC}\n\nA second paragraph.",
    )


def other() -> dict[str, Any]:
    """Another subject sharing ``Point`` exactly as ``everything`` v1 defines it."""
    point = record(
        "Point", {"name": "x", "type": "int"}, {"name": "y", "type": "int", "default": 0}
    )
    return record("Other", {"name": "point", "type": point})


SYNTHETIC = [
    entry("everything", 1, everything(1)),
    entry("everything", 2, everything(2)),
    entry("other", 1, other()),
]


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codegen")
    write(generate(SYNTHETIC), root / "codegen_synthetic_models")
    return root / "codegen_synthetic_models"


@pytest.fixture(scope="module")
def synthetic(synthetic_dir: Path) -> Iterator[ModuleType]:
    sys.path.insert(0, str(synthetic_dir.parent))
    try:
        yield importlib.import_module(synthetic_dir.name)
    finally:
        sys.path.remove(str(synthetic_dir.parent))
        for name in [m for m in sys.modules if m.split(".")[0] == synthetic_dir.name]:
            del sys.modules[name]


def synthetic_datum(version: int) -> dict[str, Any]:
    return {
        "event_id": EVENT_ID,
        "event_type": "everything",
        "schema_version": version,
        "user_id": "user-1",
        "hash": b"abcd",
        "price": Decimal("1.5"),
        "node": {"value": 1, "next": {"value": 2}},
    }


def run_ruff(*args: str) -> subprocess.CompletedProcess[str]:
    if not RUFF.exists():
        pytest.skip("ruff is not installed next to this interpreter")
    command = [str(RUFF), *args, "--config", str(REPO_ROOT / "pyproject.toml")]
    return subprocess.run(command, capture_output=True, text=True, check=False)


# -- drift ------------------------------------------------------------------------------------


def test_regenerating_the_catalogue_reproduces_the_checked_in_models(
    catalogue_files: dict[str, str],
) -> None:
    assert check(catalogue_files, EVENTS_DIR) == []


def test_editing_a_schema_makes_check_report_its_module(tmp_path: Path) -> None:
    schemas = shutil.copytree(REPO_ROOT / "schemas", tmp_path / "schemas")
    path = schemas / "order_completed" / "v2.avsc"
    schema = json.loads(path.read_text(encoding="utf-8"))
    properties = schema["fields"][-1]["type"]
    properties["fields"][-1]["doc"] = "How the order is shipped."
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    assert check(generate(SchemaRegistry.load(schemas)), EVENTS_DIR) == ["order_completed.py"]


def test_generation_does_not_depend_on_the_order_of_entries(
    catalogue_files: dict[str, str],
) -> None:
    shuffled = list(reversed(list(SchemaRegistry.load(REPO_ROOT / "schemas"))))
    assert generate(shuffled) == catalogue_files


def test_every_generated_file_starts_with_the_header(catalogue_files: dict[str, str]) -> None:
    assert all(source.startswith(HEADER) for source in catalogue_files.values())
    assert "schemas/order_completed/v2.avsc" in catalogue_files["order_completed.py"]


# -- write / check ----------------------------------------------------------------------------


def test_write_then_check_is_clean(tmp_path: Path, catalogue_files: dict[str, str]) -> None:
    write(catalogue_files, tmp_path / "events")
    assert check(catalogue_files, tmp_path / "events") == []


def test_write_rewrites_only_changed_files(tmp_path: Path, catalogue_files: dict[str, str]) -> None:
    write(catalogue_files, tmp_path)
    changed = dict(catalogue_files, **{"page_viewed.py": catalogue_files["page_viewed.py"] + "\n"})
    assert write(changed, tmp_path) == [tmp_path / "page_viewed.py"]
    assert write(changed, tmp_path) == []


def test_write_removes_stale_generated_files(
    tmp_path: Path, catalogue_files: dict[str, str]
) -> None:
    write(catalogue_files, tmp_path)
    fewer = {k: v for k, v in catalogue_files.items() if k != "lead_captured.py"}
    assert write(fewer, tmp_path) == [tmp_path / "lead_captured.py"]
    assert not (tmp_path / "lead_captured.py").exists()


def test_write_keeps_files_it_did_not_generate(
    tmp_path: Path, catalogue_files: dict[str, str]
) -> None:
    (tmp_path / "handwritten.py").write_text("X = 1\n", encoding="utf-8")
    write(catalogue_files, tmp_path)
    assert (tmp_path / "handwritten.py").read_text(encoding="utf-8") == "X = 1\n"
    assert check(catalogue_files, tmp_path) == []


def test_write_refuses_to_overwrite_a_file_it_did_not_generate(
    tmp_path: Path, catalogue_files: dict[str, str]
) -> None:
    (tmp_path / "page_viewed.py").write_text("X = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="refusing to overwrite") as caught:
        write(catalogue_files, tmp_path)
    assert "page_viewed.py" in str(caught.value)
    assert not (tmp_path / "order_completed.py").exists()


def test_check_reports_missing_differing_and_stale_files(
    tmp_path: Path, catalogue_files: dict[str, str]
) -> None:
    write(catalogue_files, tmp_path)
    (tmp_path / "page_viewed.py").unlink()
    (tmp_path / "lead_captured.py").write_text(HEADER + "\n# edited\n", encoding="utf-8")
    (tmp_path / "gone.py").write_text(HEADER + "\n", encoding="utf-8")
    assert check(catalogue_files, tmp_path) == ["gone.py", "lead_captured.py", "page_viewed.py"]


# -- shape of the generated package -----------------------------------------------------------


def test_a_nested_record_several_subjects_share_is_generated_once(
    catalogue_files: dict[str, str],
) -> None:
    for name in ("Context", "Page", "Campaign", "Device", "Product"):
        defined = [f for f, source in catalogue_files.items() if f"\nclass {name}(" in source]
        assert defined == ["_shared.py"], name


def test_a_nested_record_that_differs_between_versions_is_suffixed_with_its_version(
    catalogue_files: dict[str, str],
) -> None:
    source = catalogue_files["order_completed.py"]
    assert "class OrderCompletedPropertiesV1(AvroModel):" in source
    assert "class OrderCompletedPropertiesV2(AvroModel):" in source
    assert "properties: OrderCompletedPropertiesV2\n" in source


def test_generated_code_passes_ruff_check_and_format(synthetic_dir: Path) -> None:
    linted = run_ruff("check", "--no-cache", str(synthetic_dir))
    assert linted.returncode == 0, linted.stdout
    formatted = run_ruff("format", "--check", "--diff", "--no-cache", str(synthetic_dir))
    assert formatted.returncode == 0, formatted.stdout


# -- faithful models for every supported type -------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_every_supported_type_round_trips_through_fastavro(
    synthetic: ModuleType, version: int
) -> None:
    cls = synthetic.model_for("everything", version)
    model = cls.model_validate(synthetic_datum(version))
    parsed = fastavro.parse_schema(everything(version))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, synthetic.to_datum(model))
    buffer.seek(0)
    assert cls.model_validate(fastavro.schemaless_reader(buffer, parsed, None)) == model


def test_avro_defaults_become_model_defaults(synthetic: ModuleType) -> None:
    model = synthetic.EverythingV1.model_validate(synthetic_datum(1))
    assert model.at == datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
    assert model.day == date(2022, 1, 8)
    assert model.amount == Decimal("12.34")
    assert model.blob == b'\xff\x00a"\\'
    assert model.long_label == LONG_DOC
    assert model.point == synthetic.PointV1(x=1, y=0)
    assert model.colors == {"a": "RED"}


def test_mutable_defaults_are_not_shared_between_instances(synthetic: ModuleType) -> None:
    first = synthetic.EverythingV1.model_validate(synthetic_datum(1))
    second = synthetic.EverythingV1.model_validate(synthetic_datum(1))
    assert first.colors is not second.colors


def test_a_named_type_shared_by_two_subjects_lives_in_the_shared_module(
    synthetic: ModuleType,
) -> None:
    assert synthetic.OtherV1.model_fields["point"].annotation is synthetic.PointV1
    assert synthetic.PointV1.__module__.endswith("._shared")
    assert synthetic.PointV2.__module__.endswith(".everything")


def test_field_names_python_cannot_use_are_renamed_with_the_avro_name_as_alias(
    synthetic: ModuleType,
) -> None:
    model = synthetic.EverythingV1.model_validate(
        {**synthetic_datum(1), "from": "a", "_hidden": "b", "json": "c"}
    )
    assert (model.from_, model.hidden_, model.json_) == ("a", "b", "c")
    assert {"from", "_hidden", "json", "camelCase"} <= synthetic.to_datum(model).keys()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("precise", float("nan")),
        ("precise", float("inf")),
        ("ratio", 1e39),
        ("ratio", True),
        ("hash", b"abc"),
        ("color", "BLUE"),
        ("day", True),
        ("at_us", "2024-05-17T09:30:12"),
    ],
)
def test_values_outside_the_avro_type_are_rejected(
    synthetic: ModuleType, field: str, value: Any
) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        synthetic.EverythingV1.model_validate({**synthetic_datum(1), field: value})


# -- refused catalogues -----------------------------------------------------------------------


def test_an_unknown_format_is_refused_with_its_place() -> None:
    bad = record("Bad", {"name": "code", "type": "string", "format": "iso3166"})
    with pytest.raises(SchemaError, match="unknown format 'iso3166'") as caught:
        generate([entry("bad", 1, bad)])
    assert "Bad.code" in str(caught.value)


def test_an_unsupported_logical_type_is_refused() -> None:
    bad = record("Bad", {"name": "t", "type": {"type": "int", "logicalType": "time-millis"}})
    with pytest.raises(SchemaError, match="time-millis"):
        generate([entry("bad", 1, bad)])


def test_colliding_class_names_are_refused() -> None:
    clash = record("Clash", {"name": "a", "type": record("BadV1", {"name": "x", "type": "int"})})
    with pytest.raises(SchemaError, match="BadV1"):
        generate([entry("bad", 1, clash)])


def test_a_subject_that_is_not_a_module_name_is_refused() -> None:
    with pytest.raises(SchemaError, match="not a valid Python module name"):
        generate([entry("order-completed", 1, record("Thing"))])


# -- cold start -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "import martech_bus",
        "import martech_bus.events",
        "import martech_bus.schema.codegen",
    ],
)
def test_importing_does_not_load_pydantic_or_the_models(statement: str) -> None:
    probe = (
        f"import sys; {statement}; "
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'pydantic' "
        "or m.startswith('martech_bus.events.')]; "
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
