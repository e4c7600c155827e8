"""Observability is imported in every Lambda cold start: stdlib only."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {
    "fastavro",
    "pydantic",
    "yaml",
    "confluent_kafka",
    "boto3",
    "botocore",
    "httpx",
    "jsonschema",
}


def test_importing_observability_loads_nothing_heavy_nor_the_registry() -> None:
    probe = "import sys, json, martech_bus.observability; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert {m.split(".")[0] for m in loaded}.isdisjoint(HEAVY)
    assert "martech_bus.schema.registry" not in loaded
