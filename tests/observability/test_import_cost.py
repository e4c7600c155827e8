"""Observability is imported in every Lambda cold start: stdlib only, and not the registry."""

from __future__ import annotations

import subprocess
import sys

from tests.test_import_cost import HEAVY, modules_loaded_by


def test_importing_observability_loads_nothing_heavy() -> None:
    assert modules_loaded_by("import martech_bus.observability").isdisjoint({*HEAVY, "jsonschema"})


def test_importing_observability_does_not_load_the_registry() -> None:
    probe = (
        "import sys, martech_bus.observability; print('martech_bus.schema.registry' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
