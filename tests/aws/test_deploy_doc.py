"""docs/deploy-lambda.md: the SAM template in it is valid and says what martech-bus needs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from martech_bus.idempotency.dynamodb import TTL_ATTRIBUTE

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy-lambda.md"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (``!Ref``, ``!GetAtt``, ``!Sub``) as plain values."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template_text() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    [text] = [block for block in blocks if block.startswith("# template.yaml")]
    return str(text)


@pytest.fixture(scope="module")
def template(template_text: str) -> dict[str, Any]:
    loaded = yaml.load(template_text, Loader=_CloudFormationLoader)  # a SafeLoader subclass
    assert isinstance(loaded, dict)
    return loaded


def _function(template: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"]["AdapterFunction"]["Properties"]
    return properties


def test_the_function_runs_the_adapter_handler_on_python_3_11(template: dict[str, Any]) -> None:
    function = _function(template)

    assert (function["Runtime"], function["Handler"]) == ("python3.13", "handler.handler")
    assert function["Environment"]["Variables"]["MARTECH_BUS_DATA_DIR"] == "/tmp/martech-bus"


def test_the_sqs_event_reports_batch_item_failures(template: dict[str, Any]) -> None:
    queue = _function(template)["Events"]["Queue"]["Properties"]

    assert queue["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_idempotency_table_expires_records_by_the_stores_ttl_attribute(
    template: dict[str, Any],
) -> None:
    table = template["Resources"]["IdempotencyTable"]["Properties"]

    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_the_source_queue_has_a_redrive_policy(template: dict[str, Any]) -> None:
    queue = template["Resources"]["EventsQueue"]["Properties"]

    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 1


def test_the_template_passes_cfn_lint(template_text: str, tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(template_text, encoding="utf-8")

    done = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
