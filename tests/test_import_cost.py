"""Cold start: importing martech_bus must not pull in heavy dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "fastavro",
    "pydantic",
    "yaml",
    "confluent_kafka",
    "boto3",
    "botocore",
    "httpx",
    "typer",
    "rich",
    "tenacity",
)


def modules_loaded_by(statement: str) -> set[str]:
    return {name.split(".")[0] for name in all_modules_loaded_by(statement)}


def all_modules_loaded_by(statement: str, *, cwd: Path | None = None) -> set[str]:
    """Every module (``martech_bus.sinks.dlq``, not just ``martech_bus``) a fresh interpreter holds."""
    probe = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "statement", ["import martech_bus", "import martech_bus.schema", "import martech_bus.errors"]
)
def test_importing_the_package_loads_no_heavy_dependency(statement: str) -> None:
    assert modules_loaded_by(statement).isdisjoint(HEAVY)


def test_lazy_public_names_resolve_on_first_use() -> None:
    import martech_bus

    assert martech_bus.SchemaRegistry.__name__ == "SchemaRegistry"
    assert callable(martech_bus.check_compatibility)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import martech_bus

    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = martech_bus.no_such_thing  # type: ignore[attr-defined]


def test_loading_the_catalogue_needs_neither_fastavro_nor_the_compatibility_checker() -> None:
    loaded = all_modules_loaded_by(
        "from martech_bus.schema.registry import SchemaRegistry; SchemaRegistry.load('schemas')",
        cwd=Path(__file__).resolve().parent.parent,
    )

    assert "martech_bus.schema.registry" in loaded
    assert not {"fastavro", "martech_bus.schema.compat"} & loaded


def test_the_compatibility_mode_names_need_no_fastavro() -> None:
    loaded = all_modules_loaded_by(
        "import martech_bus; martech_bus.CompatibilityMode.parse('full')"
    )

    assert not {"fastavro", "martech_bus.schema.compat"} & loaded


def test_a_metrics_registry_loads_no_other_observability_module() -> None:
    loaded = all_modules_loaded_by("from martech_bus.observability.metrics import Metrics")

    assert {m for m in loaded if m.startswith("martech_bus.observability.")} == {
        "martech_bus.observability.metrics"
    }


def test_every_observability_name_still_resolves() -> None:
    import martech_bus.observability as observability
    from martech_bus.observability import alerts, emf, logs, metrics, pii, prometheus

    homes = (alerts, emf, logs, metrics, pii, prometheus)
    for name in observability.__all__:
        assert any(getattr(home, name, None) is getattr(observability, name) for home in homes)


def test_the_pipeline_loads_the_dead_letter_module_only_when_it_dead_letters() -> None:
    loaded = all_modules_loaded_by("import martech_bus.pipeline")

    assert "martech_bus.pipeline" in loaded
    assert "martech_bus.sinks.dlq" not in loaded


def test_the_route_names_are_the_same_wherever_they_are_imported_from() -> None:
    from martech_bus import pipeline
    from martech_bus.sinks import base, dlq

    assert (pipeline.DIRECT, pipeline.BUS) == (dlq.DIRECT, dlq.BUS) == (base.DIRECT, base.BUS)
    assert (base.DIRECT, base.BUS) == ("direct", "bus")
