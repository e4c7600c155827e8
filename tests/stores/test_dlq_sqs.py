"""What the SQS store adds: attributes, peeking without consuming, the size limit, errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from martech_bus.awsapi import TerminalStoreError
from martech_bus.sinks.dlq_sqs import MAX_RETENTION_SECONDS, SqsDeadLetterStore
from martech_bus.testing.aws import AwsEndpoint
from tests.stores.test_dlq_contract import letter


@pytest.fixture
def store(aws: AwsEndpoint, sqs_client: Any) -> SqsDeadLetterStore:
    return SqsDeadLetterStore.create_queue("dlq", client=sqs_client, receive_wait_seconds=0)


def visible(sqs_client: Any, store: SqsDeadLetterStore) -> int:
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=store.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_a_record_is_one_message_with_searchable_attributes(
    store: SqsDeadLetterStore, sqs_client: Any
) -> None:
    record = store.put(letter())
    (message,) = sqs_client.receive_message(
        QueueUrl=store.queue_url, MessageAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"]
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes == {
        "record_id": record.id,
        "event_id": "evt-1",
        "vendor": "braze",
        "route": "direct",
        "reason": "HTTP 400: invalid email",
    }


def test_reading_peeks_and_leaves_every_message_visible(
    store: SqsDeadLetterStore, sqs_client: Any
) -> None:
    records = [store.put(letter(n)) for n in range(1, 24)]  # more than one receive batch
    assert {r.id for r in store.list()} == {r.id for r in records}
    assert store.get(records[-1].id) == records[-1]
    assert visible(sqs_client, store) == 23


def test_replaying_leaves_exactly_one_message_for_the_record(
    store: SqsDeadLetterStore, sqs_client: Any
) -> None:
    record = store.put(letter())
    store.mark_replayed(record.id)
    store.mark_replayed(record.id)
    assert visible(sqs_client, store) == 1
    assert store.get(record.id).replay_count == 2


def test_the_queue_keeps_messages_as_long_as_sqs_allows(
    store: SqsDeadLetterStore, sqs_client: Any
) -> None:
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=store.queue_url, AttributeNames=["MessageRetentionPeriod"]
    )["Attributes"]
    assert int(attributes["MessageRetentionPeriod"]) == MAX_RETENTION_SECONDS


def test_a_record_too_big_for_a_message_is_refused_before_sending(
    store: SqsDeadLetterStore, sqs_client: Any
) -> None:
    huge = replace(letter(), event={"blob": "x" * 300_000})
    with pytest.raises(TerminalStoreError, match=r"an SQS message holds at most 262144"):
        store.put(huge)
    assert visible(sqs_client, store) == 0


def test_a_missing_queue_is_a_terminal_error(aws: AwsEndpoint, sqs_client: Any) -> None:
    url = sqs_client.create_queue(QueueName="short-lived")["QueueUrl"]
    sqs_client.delete_queue(QueueUrl=url)
    with pytest.raises(TerminalStoreError, match=r"SQS queue .*short-lived"):
        SqsDeadLetterStore(url, client=sqs_client, receive_wait_seconds=0).put(letter())
