"""SQS buffer: the production twin for serverless gateways.

One record = one message. The body is the payload in base64 (SQS bodies must
be text); the id, source, receive time and meta (JSON) travel as message
attributes. The mapping onto the buffer API:

- ``append`` = ``SendMessageBatch`` (10 messages and ``max_message_bytes`` per
  call; a record over ``max_message_bytes`` is refused before anything is sent).
  Durable once SQS answered: SQS stores a message redundantly before it replies.
- ``claim`` = ``ReceiveMessage`` with the visibility timeout (whole seconds,
  rounded up); attempts = SQS's ``ApproximateReceiveCount``; the token is the
  receipt handle. A message this store did not write comes back as poison.
- ``ack`` = ``DeleteMessageBatch``; ``release``/``extend`` = ``ChangeMessageVisibilityBatch``.
- ``depth`` = visible + in flight + delayed, from ``GetQueueAttributes``:
  approximate (AWS updates these counts with up to a minute's delay).
- ``oldest_age`` is None: the API does not expose message ages; CloudWatch's
  ``ApproximateAgeOfOldestMessage`` metric does.

Differences from the embedded buffer, all on the side of duplicates, never loss:
SQS deletes a message with any receipt handle it ever had, so a superseded lease
is refused only by the lease-expiry rule (``checks_tokens`` is False), and a
repeated ack of a live lease reports success again; a standard
queue is only roughly FIFO and may deliver a message twice; a retried append
duplicates (a FIFO queue dedupes by record id for 5 minutes). On a FIFO queue
(URL ending in ``.fifo``) the message group is ``message_group`` or, by default,
the record's source: order holds per source. A redrive policy on the queue moves
messages to a dead-letter queue by itself; without one, poison comes back flagged.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from typing import Any, Final, Unpack

from martech_bus.awsapi import TransientStoreError, boto_errors, default_client
from martech_bus.buffer.base import (
    BufferRecord,
    BufferStore,
    Held,
    InvalidRecordError,
    Lease,
    StoreOptions,
    Taken,
)
from martech_bus.errors import ConfigError, Location

#: SQS's long-standing message size limit, which also caps one batch call. A queue's
#: ``MaximumMessageSize`` may allow more today: pass ``max_message_bytes`` to use it.
MAX_MESSAGE_BYTES: Final = 262_144
MAX_VISIBILITY_SECONDS: Final = 43_200  # 12 hours, the most SQS allows
_BATCH: Final = 10  # SQS's limit per batch call and per receive
# Message attributes (names SQS allows: letters, digits, "-", "_", ".").
ID, SOURCE, RECEIVED_AT, META = (
    "martech-id",
    "martech-source",
    "martech-received-at",
    "martech-meta",
)
_DEPTH_ATTRIBUTES: Final = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class SqsBufferStore(BufferStore):
    """Records as messages of one SQS queue; ``client`` is a boto3 SQS client."""

    checks_tokens = False

    def __init__(
        self,
        queue_url: str,
        *,
        client: Any = None,
        receive_wait_seconds: int = 1,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        message_group: str | None = None,
        **options: Unpack[StoreOptions],
    ) -> None:
        """``receive_wait_seconds`` > 0 long-polls, which asks every SQS server, not a sample."""
        super().__init__(**options)
        self.queue_url = queue_url
        self.fifo = queue_url.endswith(".fifo")
        self.receive_wait_seconds = receive_wait_seconds
        self.max_message_bytes = max_message_bytes
        self.message_group = message_group
        self._client = default_client("sqs") if client is None else client
        self._what = f"SQS queue {queue_url}"

    @classmethod
    def create_queue(cls, name: str, *, client: Any = None, **options: Any) -> SqsBufferStore:
        """Create (or find) the queue ``name`` (FIFO when it ends in ``.fifo``) and a store on it."""
        client = default_client("sqs") if client is None else client
        attributes = {"MessageRetentionPeriod": "1209600"}  # 14 days, the most SQS allows
        if name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
        with boto_errors(f"SQS queue {name!r}"):
            url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return cls(url, client=client, **options)

    # -- append ------------------------------------------------------------------------------

    def _append(self, records: Sequence[BufferRecord]) -> None:
        entries = [self._entry(record) for record in records]  # refuse oversize before sending
        failed: list[str] = []
        for batch in self._batches(entries):
            # A batch entry id only has to be unique within the call (and record ids may
            # hold characters SQS refuses there): the position, mapped back on failure.
            sent = [
                {"Id": str(i), **{k: v for k, v in e.items() if k not in ("size", "record_id")}}
                for i, e in enumerate(batch)
            ]
            with boto_errors(self._what):
                response = self._client.send_message_batch(QueueUrl=self.queue_url, Entries=sent)
            failed += [
                f"{batch[int(f['Id'])]['record_id']}: {f.get('Code', 'error')} {f.get('Message', '')}".strip()
                for f in response.get("Failed", [])
            ]
        if failed:
            # The other messages were sent: a retry of the whole batch duplicates them
            # (downstream dedupes by event id; a FIFO queue dedupes by record id).
            raise TransientStoreError(
                f"{self._what}: {len(failed)} of {len(records)} records were not sent: "
                + "; ".join(failed)
            )

    def _entry(self, record: BufferRecord) -> dict[str, Any]:
        body = base64.b64encode(record.payload).decode("ascii")
        attributes = {
            ID: {"DataType": "String", "StringValue": record.id},
            SOURCE: {"DataType": "String", "StringValue": record.source},
            RECEIVED_AT: {"DataType": "Number", "StringValue": repr(record.received_at)},
        }
        if record.meta:  # SQS refuses empty attribute values
            meta = json.dumps(record.meta, ensure_ascii=False, separators=(",", ":"))
            attributes[META] = {"DataType": "String", "StringValue": meta}
        size = len(body) + sum(
            len(name) + len(a["DataType"]) + len(a["StringValue"].encode())
            for name, a in attributes.items()
        )
        if size > self.max_message_bytes:
            raise InvalidRecordError(
                f"record from {record.source!r} is {size} bytes as an SQS message "
                f"({len(record.payload)} bytes of payload, base64 adds a third); "
                f"the queue takes at most {self.max_message_bytes}",
                location=Location(event_id=record.id),
            )
        entry: dict[str, Any] = {
            "record_id": record.id,
            "MessageBody": body,
            "MessageAttributes": attributes,
            "size": size,
        }
        if self.fifo:
            entry["MessageGroupId"] = self.message_group or record.source
            entry["MessageDeduplicationId"] = record.id
        return entry

    def _batches(self, entries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Split into calls of at most 10 messages and ``max_message_bytes`` in all."""
        batches: list[list[dict[str, Any]]] = []
        current: list[dict[str, Any]] = []
        size = 0
        for entry in entries:
            if current and (
                len(current) == _BATCH or size + entry["size"] > self.max_message_bytes
            ):
                batches.append(current)
                current, size = [], 0
            current.append(entry)
            size += entry["size"]
        if current:
            batches.append(current)
        return batches

    # -- claim -------------------------------------------------------------------------------

    def _claim(self, limit: int, lease: Lease) -> list[Taken]:
        seconds = math.ceil(lease.seconds)  # SQS counts whole seconds: never shorter than asked
        if seconds > MAX_VISIBILITY_SECONDS:
            raise ConfigError(
                f"an SQS visibility timeout is at most {MAX_VISIBILITY_SECONDS} s, got {lease.seconds}"
            )
        taken: list[Taken] = []
        wait = self.receive_wait_seconds
        while len(taken) < limit:
            want = min(_BATCH, limit - len(taken))
            with boto_errors(self._what):
                messages = self._client.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=want,
                    VisibilityTimeout=seconds,
                    WaitTimeSeconds=wait,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                ).get("Messages", [])
            taken += [taken_from_message(m) for m in messages]
            if len(messages) < want:
                break
            wait = 0  # only the first receive may wait: then take what is there now
        return taken

    # -- ack, release, extend ------------------------------------------------------------------

    def _ack(self, held: Sequence[Held]) -> set[str]:
        return self._each(held, "delete_message_batch", {})

    def _set_visibility(
        self, held: Sequence[Held], now: float, seconds: float, *, keep: bool
    ) -> set[str]:
        whole = math.ceil(seconds)
        if whole > MAX_VISIBILITY_SECONDS:
            raise ConfigError(
                f"SQS can hide a message for at most {MAX_VISIBILITY_SECONDS} s, got {seconds}"
            )
        return self._each(held, "change_message_visibility_batch", {"VisibilityTimeout": whole})

    def _each(self, held: Sequence[Held], call: str, extra: dict[str, Any]) -> set[str]:
        """One batch call per 10 leases; the ids SQS accepted (a failed entry was not done)."""
        done: set[str] = set()
        for start in range(0, len(held), _BATCH):
            chunk = held[start : start + _BATCH]
            entries = [
                {"Id": str(i), "ReceiptHandle": h.token, **extra} for i, h in enumerate(chunk)
            ]
            with boto_errors(self._what):
                response = getattr(self._client, call)(QueueUrl=self.queue_url, Entries=entries)
            done.update(chunk[int(s["Id"])].id for s in response.get("Successful", []))
        return done

    # -- gauges -----------------------------------------------------------------------------

    def _depth(self) -> int:
        with boto_errors(self._what):
            found = self._client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=list(_DEPTH_ATTRIBUTES)
            )["Attributes"]
        return sum(int(found.get(name, 0)) for name in _DEPTH_ATTRIBUTES)

    def _oldest_received_at(self) -> float | None:
        return None  # not in the API: CloudWatch's ApproximateAgeOfOldestMessage has it


def taken_from_message(message: dict[str, Any]) -> Taken:
    """A received message as a record; one this store cannot read comes back with a problem."""
    attributes = message.get("MessageAttributes", {})
    system = message.get("Attributes", {})
    attempts = int(system.get("ApproximateReceiveCount", 1))
    sent = int(system.get("SentTimestamp", 0)) / 1000

    def text(name: str) -> str | None:
        value = attributes.get(name, {}).get("StringValue")
        return None if value is None else str(value)

    body = message.get("Body", "")
    record_id, source = text(ID), text(SOURCE)
    try:
        if record_id is None or source is None:
            raise ValueError(f"no {ID} / {SOURCE} attributes")
        payload = base64.b64decode(body, validate=True)
        meta = json.loads(text(META) or "{}")
        if not isinstance(meta, dict):
            raise ValueError(f"{META} is not a JSON object")
        received = float(text(RECEIVED_AT) or sent)
    except (ValueError, binascii.Error) as exc:
        # Not ours (or damaged): never drop it; hand back the raw body for quarantine.
        record = BufferRecord(
            record_id or message["MessageId"],
            source or "sqs",
            body.encode(),
            {"sqs_message_id": message["MessageId"]},
            sent,
            attempts,
        )
        return Taken(record, message["ReceiptHandle"], f"not a buffer record: {exc}")
    record = BufferRecord(record_id, source, payload, meta, received, attempts)
    return Taken(record, message["ReceiptHandle"])


__all__ = ["MAX_MESSAGE_BYTES", "SqsBufferStore", "taken_from_message"]
