"""DynamoDB idempotency store: the production twin of the SQLite store.

Item per key: ``pk`` (the key), ``status``, ``token``, ``until`` (lease end or
expiry, epoch seconds) and ``expires_at`` (``until`` rounded up to whole seconds:
the table's TTL attribute, so DynamoDB eventually deletes expired records and
abandoned claims). TTL deletion is lazy, so the conditions and reads compare
``until`` with the injected clock instead of trusting that expired items are gone.

DynamoDB has no multi-item conditional write that succeeds per item, so a bulk
claim is one conditional ``PutItem`` per key.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any, Final, Unpack

from martech_bus.awsapi import boto_errors, default_client
from martech_bus.idempotency.base import Entry, IdempotencyStore, Status, StoreOptions

TTL_ATTRIBUTE: Final = "expires_at"
# status, token and until are DynamoDB reserved words: always go through placeholders.
_NAMES: Final = {"#status": "status", "#token": "token", "#until": "until"}


class DynamoDbIdempotencyStore(IdempotencyStore):
    """Records in a DynamoDB table keyed by ``pk``; ``client`` is a boto3 DynamoDB client."""

    def __init__(self, table: str, *, client: Any = None, **options: Unpack[StoreOptions]) -> None:
        super().__init__(**options)
        self.table = table
        self._client = default_client("dynamodb") if client is None else client
        self._what = f"DynamoDB table {table!r}"

    def create_table(self) -> None:
        """Create the table (on-demand billing) with TTL on ``expires_at``, if missing."""
        client = self._client
        with boto_errors(self._what):
            with contextlib.suppress(client.exceptions.ResourceInUseException):  # exists
                client.create_table(
                    TableName=self.table,
                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            client.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
            ttl = client.describe_time_to_live(TableName=self.table)["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=self.table,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
                )

    def _claim(self, entries: Sequence[Entry], now: float) -> set[str]:
        won = set()
        failed = self._client.exceptions.ConditionalCheckFailedException
        with boto_errors(self._what):
            for entry in entries:
                try:
                    self._client.put_item(
                        TableName=self.table,
                        Item=_item(entry),
                        ConditionExpression="attribute_not_exists(pk) OR #until <= :now",
                        ExpressionAttributeNames={"#until": "until"},
                        ExpressionAttributeValues={":now": _number(now)},
                    )
                except failed:
                    continue
                won.add(entry.key)
        return won

    def _mark_delivered(self, entries: Sequence[Entry]) -> None:
        with boto_errors(self._what):
            for entry in entries:
                item = _item(entry)
                self._client.update_item(
                    TableName=self.table,
                    Key={"pk": item["pk"]},
                    UpdateExpression=f"SET #status = :s, #token = :t, #until = :u, {TTL_ATTRIBUTE} = :e",
                    ExpressionAttributeNames=_NAMES,
                    ExpressionAttributeValues={
                        ":s": item["status"],
                        ":t": item["token"],
                        ":u": item["until"],
                        ":e": item[TTL_ATTRIBUTE],
                    },
                )

    def _release(self, held: Sequence[tuple[str, str]]) -> set[str]:
        released = set()
        failed = self._client.exceptions.ConditionalCheckFailedException
        with boto_errors(self._what):
            for key, token in held:
                try:
                    self._client.delete_item(
                        TableName=self.table,
                        Key={"pk": {"S": key}},
                        ConditionExpression="#token = :t AND #status = :c",
                        ExpressionAttributeNames={"#token": "token", "#status": "status"},
                        ExpressionAttributeValues={
                            ":t": {"S": token},
                            ":c": {"S": Status.CLAIMED.value},
                        },
                    )
                except failed:
                    continue
                released.add(key)
        return released

    def _get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        found = {}
        with boto_errors(self._what):
            for key in keys:
                item = self._client.get_item(
                    TableName=self.table, Key={"pk": {"S": key}}, ConsistentRead=True
                ).get("Item")
                if item is not None:
                    found[key] = Entry(
                        key,
                        Status(item["status"]["S"]),
                        item["token"]["S"],
                        float(item["until"]["N"]),
                    )
        return found

    def _purge(self, now: float) -> int:
        return 0  # the table's TTL deletes expired items; a scan-and-delete would only cost money


def _number(value: float) -> dict[str, str]:
    return {"N": repr(float(value))}


def _item(entry: Entry) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": entry.key},
        "status": {"S": entry.status.value},
        "token": {"S": entry.token},
        "until": _number(entry.until),
        TTL_ATTRIBUTE: {"N": str(math.ceil(entry.until))},
    }
