"""Cold start: the Lambda entry module pulls in no heavy dependency."""

from __future__ import annotations

from tests.test_import_cost import modules_loaded_by

HEAVY = {
    "boto3",
    "botocore",
    "httpx",
    "pydantic",
    "fastavro",
    "yaml",
    "tenacity",
    "confluent_kafka",
}


def test_importing_the_lambda_entry_point_loads_no_heavy_dependency() -> None:
    loaded = modules_loaded_by("import martech_bus.aws.handler")

    assert "martech_bus" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & HEAVY)
