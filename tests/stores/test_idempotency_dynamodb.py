"""What the DynamoDB idempotency store adds: the table, its TTL attribute, error translation."""

from __future__ import annotations

import math
from typing import Any

import pytest

from martech_bus.awsapi import TerminalStoreError, TransientStoreError
from martech_bus.idempotency import DEFAULT_TTL, DynamoDbIdempotencyStore
from martech_bus.testing.aws import AwsEndpoint, free_port
from tests.stores.conftest import Clock


@pytest.fixture
def store(aws: AwsEndpoint, dynamodb_client: Any, clock: Clock) -> DynamoDbIdempotencyStore:
    store = DynamoDbIdempotencyStore("deliveries", client=dynamodb_client, clock=clock)
    store.create_table()
    return store


def test_create_table_is_idempotent_and_enables_ttl(
    store: DynamoDbIdempotencyStore, dynamodb_client: Any
) -> None:
    store.create_table()
    ttl = dynamodb_client.describe_time_to_live(TableName="deliveries")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_a_completed_item_carries_whole_epoch_seconds_for_the_ttl(
    store: DynamoDbIdempotencyStore, dynamodb_client: Any, clock: Clock
) -> None:
    clock.now += 0.25
    claim = store.claim("braze:3:evt-1")
    assert claim is not None
    claim.complete()
    item = dynamodb_client.get_item(TableName="deliveries", Key={"pk": {"S": "braze:3:evt-1"}})[
        "Item"
    ]
    expected = clock.now + DEFAULT_TTL.total_seconds()
    assert item["status"] == {"S": "delivered"}
    assert float(item["until"]["N"]) == expected
    assert item["expires_at"] == {"N": str(math.ceil(expected))}


def test_an_expired_item_still_in_the_table_counts_as_absent(
    store: DynamoDbIdempotencyStore, dynamodb_client: Any, clock: Clock
) -> None:
    claim = store.claim("k")
    assert claim is not None
    claim.complete()
    clock.advance(DEFAULT_TTL.total_seconds())
    assert "Item" in dynamodb_client.get_item(TableName="deliveries", Key={"pk": {"S": "k"}})
    assert not store.is_delivered("k")
    assert store.claim("k") is not None


def test_a_missing_table_is_a_terminal_error_naming_it(
    aws: AwsEndpoint, dynamodb_client: Any
) -> None:
    store = DynamoDbIdempotencyStore("nowhere", client=dynamodb_client)
    with pytest.raises(TerminalStoreError, match="DynamoDB table 'nowhere': ResourceNotFound"):
        store.claim("k")


def test_an_unreachable_endpoint_is_a_transient_error() -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
    )
    with pytest.raises(TransientStoreError, match="DynamoDB table 'deliveries'"):
        DynamoDbIdempotencyStore("deliveries", client=client).is_delivered("k")
