"""The SQS buffer beyond the contract: message limits, foreign messages, FIFO queues, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from martech_bus.awsapi import TerminalStoreError, TransientStoreError
from martech_bus.buffer import Incoming, InvalidRecordError
from martech_bus.buffer.sqs import MAX_MESSAGE_BYTES, SqsBufferStore
from martech_bus.errors import ConfigError
from martech_bus.testing.aws import AwsEndpoint


class Recording:
    """A client that passes every call through and remembers ``send_message_batch`` entries."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.sent: list[list[dict[str, Any]]] = []

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.sent.append(kwargs["Entries"])
        return self._client.send_message_batch(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def client(aws: AwsEndpoint, sqs_client: Any) -> Any:
    return sqs_client


@pytest.fixture
def store(client: Any) -> Iterator[SqsBufferStore]:
    with SqsBufferStore.create_queue(
        "martech-buffer", client=client, receive_wait_seconds=0
    ) as store:
        yield store


def test_a_record_too_big_for_one_message_is_refused_before_anything_is_sent(
    store: SqsBufferStore,
) -> None:
    # base64 turns 3 bytes into 4: this payload fits in a database, not in a message.
    too_big = b"x" * (MAX_MESSAGE_BYTES * 3 // 4 + 1)
    with pytest.raises(InvalidRecordError, match=r"262144") as info:
        store.append([Incoming("segment", b"small"), Incoming("segment", too_big)])
    assert "base64" in str(info.value) and isinstance(info.value, ValueError)
    assert store.depth() == 0


def test_batches_hold_at_most_ten_messages_and_one_message_size(client: Any) -> None:
    recording = Recording(client)
    store = SqsBufferStore.create_queue("sized", client=recording, receive_wait_seconds=0)
    records = [Incoming("segment", bytes([n]) * 45_000) for n in range(13)]  # ~60 kB as base64
    records += [Incoming("segment", b"tiny %d" % n) for n in range(12)]
    ids = store.append(records)
    assert len(ids) == 25 and store.depth() == 25
    for call in recording.sent:
        assert len(call) <= 10
        assert sum(len(e["MessageBody"]) for e in call) <= MAX_MESSAGE_BYTES
    assert [len(call) for call in recording.sent] == [4, 4, 4, 10, 3]  # order kept, packed
    got = {c.id: c.record.payload for c in store.claim(25, 60)}
    got.update({c.id: c.record.payload for c in store.claim(25, 60)})
    assert got == {i: r.payload for i, r in zip(ids, records, strict=True)}


def test_a_message_this_store_did_not_write_comes_back_as_poison(
    store: SqsBufferStore, client: Any
) -> None:
    client.send_message(QueueUrl=store.queue_url, MessageBody="<not base64 at all>")
    (claim,) = store.claim(10, 60)
    assert claim.poison and claim.reason is not None and "not a buffer record" in claim.reason
    assert claim.record.payload == b"<not base64 at all>"  # the raw body, to quarantine
    assert claim.record.meta["sqs_message_id"]
    assert store.ack([claim]) == {claim.id}
    assert store.depth() == 0


def test_a_fifo_queue_keeps_order_per_source_and_dedupes_a_retried_append(client: Any) -> None:
    store = SqsBufferStore.create_queue("buffer.fifo", client=client, receive_wait_seconds=0)
    assert store.fifo
    records = [Incoming("shopify" if n % 2 else "segment", b"%d" % n) for n in range(8)]
    ids = store.append(records)
    store.append([Incoming("segment", b"again", id=ids[0])])  # a retry: deduplicated by id
    claims = store.claim(10, 60) + store.claim(10, 60)
    assert sorted(c.id for c in claims) == sorted(ids)
    for source in ("segment", "shopify"):
        mine = [c.record.payload for c in claims if c.record.source == source]
        assert mine == sorted(mine, key=int)
    assert store.ack(claims) == set(ids)


class HalfFailing:
    """A client whose batch send fails the second entry."""

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
        return {
            "Successful": [{"Id": Entries[0]["Id"], "MessageId": "m-1"}],
            "Failed": [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "boom"}
                for e in Entries[1:]
            ],
        }


def test_a_partly_failed_send_raises_a_transient_error_naming_the_records() -> None:
    store = SqsBufferStore("https://sqs.example/123/q", client=HalfFailing())
    with pytest.raises(TransientStoreError, match="1 of 2 records were not sent") as info:
        store.append([Incoming("segment", b"a"), Incoming("segment", b"b", id="req-7")])
    assert "req-7: InternalError boom" in str(info.value)


def test_aws_errors_are_store_errors(client: Any, aws: AwsEndpoint) -> None:
    store = SqsBufferStore(
        f"{aws.url}/123456789012/no-such-queue", client=client, receive_wait_seconds=0
    )
    with pytest.raises(TerminalStoreError, match="no-such-queue"):
        store.append_one("segment", b"x")


def test_sqs_bounds_are_checked(store: SqsBufferStore) -> None:
    with pytest.raises(ConfigError, match="43200"):
        store.claim(1, 43_201)
    store.append_one("segment", b"x")
    claims = store.claim(1, 60)
    with pytest.raises(ConfigError, match="43200"):
        store.release(claims, delay=50_000)
