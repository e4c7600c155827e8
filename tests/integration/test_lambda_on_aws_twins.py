"""The same adapter handler on the production twins: DynamoDB idempotency, an SQS dead-letter
queue and a Secrets Manager token, all on moto's server over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.aws import adapter_handler
from martech_bus.idempotency.dynamodb import DynamoDbIdempotencyStore
from martech_bus.integration import Runtime
from martech_bus.sinks.dlq_sqs import SqsDeadLetterStore
from martech_bus.testing.aws import FAKE_CREDENTIALS, REGION, AwsEndpoint
from martech_bus.testing.clock import FakeTime
from martech_bus.testing.vendor import stub_adapters
from tests.integration.test_sprint_storm import order, sqs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def twins(
    aws: AwsEndpoint, tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    # boto3 clients made inside martech-bus reach moto through the standard environment.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
    aws.client("secretsmanager").create_secret(
        Name="prod/meta", SecretString=json.dumps({"token": "from-secrets-manager"})
    )
    DynamoDbIdempotencyStore("martech-idempotency", client=aws.client("dynamodb")).create_table()
    dlq = SqsDeadLetterStore.create_queue("martech-dead-letters", client=aws.client("sqs"))
    adapters = stub_adapters(
        ROOT / "adapters",
        tmp_path / "adapters",
        httpserver.url_for("/").rstrip("/"),
        names=["meta_capi"],
    )
    manifest = adapters / "meta_capi" / "adapter.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "secret: env:META_ACCESS_TOKEN", "secret: secretsmanager:prod/meta#token"
        )
    )
    for name, value in {
        "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
        "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
        "MARTECH_BUS_IDEMPOTENCY": "dynamodb:martech-idempotency",
        "MARTECH_BUS_DLQ": f"sqs:{dlq.queue_url}",
        "META_PIXEL_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    clock = FakeTime()
    return {"runtime": Runtime(sleep=clock.sleep, clock=clock.clock), "dlq": dlq}


def test_events_are_delivered_once_with_a_token_from_secrets_manager(
    twins: dict[str, Any], httpserver: HTTPServer
) -> None:
    seen: list[str] = []

    def vendor(request: Any) -> Any:
        from werkzeug import Response

        assert request.args["access_token"] == "from-secrets-manager"
        seen.extend(item["event_id"] for item in json.loads(request.data)["data"])
        return Response('{"events_received": 1}', 200, content_type="application/json")

    httpserver.expect_request("/v19.0/42/events").respond_with_handler(vendor)
    handler = adapter_handler("meta_capi", runtime=twins["runtime"])
    events = [order(n) for n in range(3)]
    first = handler(sqs(events, ["a", "b", "c"]), None)
    again = handler(sqs(events, ["d", "e", "f"]), None)  # SQS delivered the messages twice
    assert first == {"batchItemFailures": []}
    assert again == {"batchItemFailures": []}
    assert sorted(seen) == sorted(e["event_id"] for e in events)


def test_a_terminal_failure_lands_in_the_sqs_dead_letter_queue(
    twins: dict[str, Any], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v19.0/42/events").respond_with_json(
        {"error": {"message": "Invalid parameter"}}, status=400
    )
    handler = adapter_handler("meta_capi", runtime=twins["runtime"])
    assert handler(sqs([order(7)], ["m-7"]), None) == {"batchItemFailures": []}
    (record,) = twins["dlq"].list()
    assert (record.event_id, record.vendor, record.status_code) == (
        order(7)["event_id"],
        "meta_capi",
        400,
    )
    assert "from-secrets-manager" not in record.to_json()
