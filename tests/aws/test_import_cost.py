"""Cold start: the Lambda entry module pulls in no heavy dependency, and its first call little more."""

from __future__ import annotations

from tests.conftest import REPO_ROOT
from tests.test_import_cost import all_modules_loaded_by, modules_loaded_by

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

LOAD_HANDLER = (
    "import importlib.util as u; "
    "s = u.spec_from_file_location('handler', 'adapters/meta_capi/handler.py'); "
    "m = u.module_from_spec(s); s.loader.exec_module(m)"
)
# What the handler builds on its first invocation, as benchmarks/bench_coldstart.py measures it.
FIRST_SETUP = (
    LOAD_HANDLER + "; import os; os.environ.setdefault('META_PIXEL_ID', '1'); "
    "os.environ.setdefault('META_ACCESS_TOKEN', 't'); "
    "from martech_bus.integration import Runtime; "
    "r = Runtime(dlq='memory', idempotency_setting='memory'); "
    "p = r.pipeline(['meta_capi']); r.adapter('meta_capi').mapping_for('order_completed')"
)
# Built on first use, never by importing the handler: the pipeline's stages and stores.
NOT_AT_IMPORT = {
    "martech_bus.integration",
    "martech_bus.sinks.dlq",
    "martech_bus.observability",
    "martech_bus.schema.registry",
    "martech_bus.adapter",
    "martech_bus.mapping",
    "martech_bus.yamlfile",
    "martech_bus.retry",
}
# Not needed to deliver to a vendor: the CLI stack httpx would pull in, the Avro and
# compatibility machinery, the vendor-request-time retry library, alerting and exporters.
NOT_IN_FIRST_SETUP = {
    "rich",
    "click",
    "pygments",
    "httpx._main",
    "fastavro",
    "martech_bus.schema.compat",
    "tenacity",
    "jsonschema",
    "pydantic",
    "boto3",
    "botocore",
    "confluent_kafka",
    "martech_bus.observability.alerts",
    "martech_bus.observability.prometheus",
}


def test_importing_the_lambda_entry_point_loads_no_heavy_dependency() -> None:
    loaded = modules_loaded_by("import martech_bus.aws.handler")

    assert "martech_bus" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & HEAVY)


def test_importing_an_adapter_handler_defers_the_pipeline_parts_to_the_first_call() -> None:
    loaded = all_modules_loaded_by(LOAD_HANDLER, cwd=REPO_ROOT)

    assert "martech_bus.aws.adapters" in loaded
    assert not {m.split(".")[0] for m in loaded} & HEAVY
    assert not loaded & NOT_AT_IMPORT, sorted(loaded & NOT_AT_IMPORT)


def test_the_first_invocation_setup_loads_only_what_delivery_needs() -> None:
    loaded = all_modules_loaded_by(FIRST_SETUP, cwd=REPO_ROOT)

    assert {"httpx", "yaml", "martech_bus.sinks.http", "martech_bus.schema.registry"} <= loaded
    assert not loaded & NOT_IN_FIRST_SETUP, sorted(loaded & NOT_IN_FIRST_SETUP)
