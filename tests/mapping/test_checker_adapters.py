"""Every mapping shipped under adapters/ passes the static checker against the real catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.mapping.checker import check_mapping, is_warning
from martech_bus.mapping.parser import load_mapping
from martech_bus.schema.registry import SchemaRegistry
from tests.conftest import REPO_ROOT

MAPPINGS = sorted(REPO_ROOT.glob("adapters/*/mappings/*.yaml"))


@pytest.fixture(scope="module")
def catalogue(schemas_dir: Path) -> SchemaRegistry:
    return SchemaRegistry.load(schemas_dir)


@pytest.mark.parametrize(
    "path",
    MAPPINGS or [pytest.param(None, marks=pytest.mark.skip(reason="no adapter mappings yet"))],
    ids=[str(p.relative_to(REPO_ROOT / "adapters")) for p in MAPPINGS] or None,
)
def test_every_adapter_mapping_passes_the_checker(path: Path, catalogue: SchemaRegistry) -> None:
    problems = check_mapping(load_mapping(path), catalogue)
    errors = [str(problem) for problem in problems if not is_warning(problem)]
    assert errors == []
