"""Cold start: importing martech_bus must not pull in heavy dependencies."""

from __future__ import annotations

import json
import subprocess
import sys

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
    probe = f"import sys, json; {statement}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


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
