"""SQS dead-letter store: the production twin for serverless deployments.

SQS is a queue, not a database; this store does what a queue allows and no more:

- ``put`` is one ``SendMessage``: the record as the JSON body, with ``record_id``,
  ``event_id``, ``vendor``, ``route`` and ``reason`` as message attributes (so
  the console and other tools can see them without parsing the body).
- Reading *peeks*: receive every message with a short visibility timeout, then
  make them visible again at once. Listing is best effort: messages another
  consumer holds at that moment are missed, and the queue's order means nothing
  (the base class sorts). Every read costs a pass over the queue.
- ``get`` scans; ``delete`` deletes by the receipt handle found while scanning;
  ``mark_replayed`` sends the new version, then deletes the old one, so a crash
  in between leaves two versions (readers keep the most replayed), never none.
- Records live as long as the queue's retention (14 days at most) and an SQS
  message holds at most 256 KiB. Give the queue no consumer and no redrive
  policy: every scan counts as a receive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from martech_bus.awsapi import TerminalStoreError, boto_errors, default_client
from martech_bus.errors import Location
from martech_bus.sinks.dlq import DeadLetter, DeadLetterStore, Now, Query

MAX_MESSAGE_BYTES: Final = 262_144
MAX_RETENTION_SECONDS: Final = 1_209_600  # 14 days, the most SQS allows
_BATCH: Final = 10  # SQS's limit per receive / batch call


@dataclass(frozen=True, slots=True)
class _Message:
    message_id: str
    receipt: str
    record_id: str | None
    body: str


class SqsDeadLetterStore(DeadLetterStore):
    """Dead letters as messages of one SQS queue; ``client`` is a boto3 SQS client."""

    def __init__(
        self,
        queue_url: str,
        *,
        client: Any = None,
        scan_visibility_timeout: int = 30,
        receive_wait_seconds: int = 1,
        clock: Now | None = None,
    ) -> None:
        """``receive_wait_seconds`` > 0 long-polls, which asks every SQS server, not a sample."""
        super().__init__(clock=clock)
        self.queue_url = queue_url
        self.scan_visibility_timeout = scan_visibility_timeout
        self.receive_wait_seconds = receive_wait_seconds
        self._client = default_client("sqs") if client is None else client
        self._what = f"SQS queue {queue_url}"

    @classmethod
    def create_queue(cls, name: str, *, client: Any = None, **options: Any) -> SqsDeadLetterStore:
        """Create (or find) the queue ``name`` with the longest retention, and a store on it."""
        client = default_client("sqs") if client is None else client
        with boto_errors(f"SQS queue {name!r}"):
            url = client.create_queue(
                QueueName=name,
                Attributes={"MessageRetentionPeriod": str(MAX_RETENTION_SECONDS)},
            )["QueueUrl"]
        return cls(url, client=client, **options)

    def _insert(self, record: DeadLetter, body: str) -> None:
        self._send(record, body)

    def _replace(self, record: DeadLetter, body: str) -> None:
        new = self._send(record, body)
        self._delete_where(lambda m: m.record_id == record.id and m.message_id != new)

    def _remove(self, record_id: str) -> bool:
        return self._delete_where(lambda m: m.record_id == record_id) > 0

    def _scan(self, query: Query) -> Iterable[str]:
        with self._peek() as messages:
            return [m.body for m in messages]

    def _send(self, record: DeadLetter, body: str) -> str:
        attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in (
                ("record_id", record.id),
                ("event_id", record.event_id),
                ("vendor", record.vendor),
                ("route", record.route),
                ("reason", record.reason[:256]),
            )
            if value  # SQS refuses empty attribute values
        }
        size = len(body.encode()) + sum(
            len(name) + len("String") + len(a["StringValue"].encode())
            for name, a in attributes.items()
        )
        if size > MAX_MESSAGE_BYTES:
            raise TerminalStoreError(
                f"dead letter {record.id} is {size} bytes; an SQS message holds at most {MAX_MESSAGE_BYTES}",
                location=Location(event_id=record.event_id),
            )
        with boto_errors(self._what):
            response = self._client.send_message(
                QueueUrl=self.queue_url, MessageBody=body, MessageAttributes=attributes
            )
        return str(response["MessageId"])

    def _delete_where(self, doomed: Callable[[_Message], bool]) -> int:
        with self._peek() as messages:
            chosen = [m for m in messages if doomed(m)]
            for start in range(0, len(chosen), _BATCH):
                entries = [
                    {"Id": str(i), "ReceiptHandle": m.receipt}
                    for i, m in enumerate(chosen[start : start + _BATCH])
                ]
                with boto_errors(self._what):
                    self._client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            messages[:] = [m for m in messages if not doomed(m)]  # nothing left to make visible
        return len(chosen)

    @contextmanager
    def _peek(self) -> Iterator[list[_Message]]:
        """Every message, hidden from others while the block runs, visible again after it."""
        messages = self._receive_all()
        try:
            yield messages
        finally:
            self._make_visible(messages)

    def _receive_all(self) -> list[_Message]:
        seen: dict[str, _Message] = {}
        with boto_errors(self._what):
            while True:
                batch = self._client.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=_BATCH,
                    VisibilityTimeout=self.scan_visibility_timeout,
                    WaitTimeSeconds=self.receive_wait_seconds,
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                # Stop on an empty answer, or when only messages seen already come back
                # (a scan longer than the visibility timeout would otherwise never end).
                if not batch or all(m["MessageId"] in seen for m in batch):
                    break
                for m in batch:
                    attributes = m.get("MessageAttributes", {})
                    seen[m["MessageId"]] = _Message(
                        m["MessageId"],
                        m["ReceiptHandle"],
                        attributes.get("record_id", {}).get("StringValue"),
                        m["Body"],
                    )
        return list(seen.values())

    def _make_visible(self, messages: list[_Message]) -> None:
        # Best effort: a message we fail to reset reappears when its visibility timeout ends.
        with boto_errors(self._what):
            for start in range(0, len(messages), _BATCH):
                entries = [
                    {"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": 0}
                    for i, m in enumerate(messages[start : start + _BATCH])
                ]
                self._client.change_message_visibility_batch(
                    QueueUrl=self.queue_url, Entries=entries
                )
