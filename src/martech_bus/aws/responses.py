"""Pipeline results turned into what each invoking service expects back.

Batch sources (SQS, Kinesis) get a partial batch response: only records the
source must deliver again are listed. API Gateway gets a JSON HTTP response
whose status says what the client must do: nothing (202), fix the events
(400) or send them again (503).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from martech_bus.pipeline import EventResult, EventStatus

if TYPE_CHECKING:
    from martech_bus.aws.sources import Record

JSON_HEADERS: Final = {"Content-Type": "application/json"}
# Not accepted: the client must act. Everything else is kept (delivered, skipped or a dead letter).
_NOT_ACCEPTED: Final = frozenset({EventStatus.INVALID, EventStatus.RETRY_LATER})


# -- batch sources ------------------------------------------------------------------------------


def batch_item_failures(
    records: Sequence[Record], results: Sequence[EventResult], *, ordered: bool
) -> dict[str, list[dict[str, str]]]:
    """The records to deliver again: those left RETRY_LATER.

    ``ordered`` (SQS FIFO, Kinesis): everything from the first RETRY_LATER on,
    including records after it that were never processed (``results`` may be
    shorter than ``records``). Invalid and dead-lettered records are successes:
    they are kept as dead letters, and retrying them would fail forever.
    """
    if ordered:
        first = next(
            (i for i, r in enumerate(results) if r.status is EventStatus.RETRY_LATER), len(results)
        )
        failed: Sequence[Record] = records[first:]
    else:
        failed = [
            record
            for record, result in zip(records, results, strict=True)
            if result.status is EventStatus.RETRY_LATER
        ]
    return {"batchItemFailures": [{"itemIdentifier": record.identifier} for record in failed]}


# -- results ------------------------------------------------------------------------------------


def result_json(result: EventResult) -> dict[str, Any]:
    """``{"event_id", "status", "reason"?}`` for one event."""
    shown: dict[str, Any] = {"event_id": result.event_id, "status": result.status.value}
    if result.reason:
        shown["reason"] = result.reason
    return shown


def results_body(results: Sequence[EventResult]) -> dict[str, Any]:
    """Per-event results and how many were accepted (kept: delivered, skipped or dead-lettered)."""
    accepted = sum(result.status not in _NOT_ACCEPTED for result in results)
    return {"results": [result_json(result) for result in results], "accepted": accepted}


# -- API Gateway --------------------------------------------------------------------------------


def http_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda proxy response (the same shape for REST API and HTTP API)."""
    return {
        "statusCode": status,
        "headers": {**JSON_HEADERS, **(headers or {})},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A JSON error: ``{"message": ..., **extra}``."""
    return http_response(status, {"message": message, **extra}, headers)


def unavailable(message: str, retry_after: int, **extra: Any) -> dict[str, Any]:
    """503: nothing is wrong with the request; send it again after ``retry_after`` seconds."""
    return error_response(503, message, {"Retry-After": str(retry_after)}, **extra)


def events_response(results: Sequence[EventResult], *, retry_after: int) -> dict[str, Any]:
    """202 when every event was accepted, 503 when any must be sent again, else 400.

    503 wins over 400: answering 400 would tell the client not to resend, and
    the events left RETRY_LATER would be lost. Resending is safe: event ids
    make delivery idempotent, and invalid events only become dead letters again.
    """
    body = results_body(results)
    errors = [
        _event_error(index, result)
        for index, result in enumerate(results)
        if result.status is EventStatus.INVALID
    ]
    if errors:
        body["errors"] = errors
    retry = sum(result.status is EventStatus.RETRY_LATER for result in results)
    if retry:
        message = (
            f"{retry} of {len(results)} events could not be delivered now; "
            "send the request again (event ids make a resend safe)"
        )
        return unavailable(message, retry_after, **body)
    if errors:
        valid = len(results) - len(errors)
        message = (
            f"{len(errors)} of {len(results)} events are invalid and were not accepted "
            f"(see errors); the other {valid} {'was' if valid == 1 else 'were'} processed "
            "(see results)"
        )
        return error_response(400, message, **body)
    return http_response(202, body)


def _event_error(index: int, result: EventResult) -> dict[str, Any]:
    error: dict[str, Any] = {"index": index}
    if result.event_id is not None:
        error["event_id"] = result.event_id
    error["problems"] = list(result.problems) or [result.reason or "invalid event"]
    return error
