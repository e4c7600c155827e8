"""Routing sits on the hot path of a Lambda: importing it must not load PyYAML or boto3."""

from __future__ import annotations

import pytest

from tests.test_import_cost import modules_loaded_by

HEAVY = {"yaml", "boto3", "botocore", "typer", "rich", "pydantic", "fastavro"}


@pytest.mark.parametrize(
    "statement",
    [
        "import martech_bus.routing",
        "from martech_bus.routing.store import flag_store; flag_store('memory')",
        "import martech_bus.routing.store_ssm, martech_bus.routing.store_yaml",
    ],
)
def test_routing_imports_no_heavy_dependency(statement: str) -> None:
    assert modules_loaded_by(statement).isdisjoint(HEAVY)
