"""The Lambda entry point: one handler for API Gateway, SQS, EventBridge and Kinesis.

``make_handler(build)`` returns ``handler(event, context)``. Each invocation
detects the invoking service, asks ``build`` for a pipeline suited to it (see
``InvocationContext``), runs the events through it and shapes the results into
that service's response. ``flush`` runs before every return, because Lambda
freezes the process afterwards and anything still queued (a Kafka producer) is
lost.

Failure rules (REFERENCE.md, "AWS Lambda"):

* SQS / Kinesis: only RETRY_LATER records are reported in ``batchItemFailures``;
  invalid and dead-lettered ones are kept as dead letters and count as done.
  SQS FIFO and Kinesis are ordered: records go one at a time, processing stops
  at the first RETRY_LATER, and it and every later record are reported. A
  pipeline exception (a bug) or a failed flush *raises*, so the whole batch is
  delivered again; idempotency skips what was already delivered.
* EventBridge (asynchronous invocation): RETRY_LATER raises ``RetryLaterError``
  so Lambda's asynchronous retries, then its on-failure destination, take over.
* API Gateway: 202 / 400 / 503 from the results, 400 / 405 / 413 for a request
  that never reaches the pipeline, 500 for a pipeline exception, 503 for a
  failed flush. Always JSON.
* An event of unknown shape raises ``UnknownEventSourceError``.

Only the standard library and light martech_bus modules are imported here: this
module is loaded on every cold start.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from martech_bus.aws import responses
from martech_bus.aws.sources import (
    BadRequestError,
    EventSource,
    Record,
    batch_records,
    body_events,
    detect_source,
    eventbridge_event,
    http_request,
)
from martech_bus.errors import TransientError
from martech_bus.pipeline import EventResult, EventStatus, RetryLater

if TYPE_CHECKING:
    from martech_bus.retry import RemainingTime

MAX_BODY_BYTES: Final = 1024 * 1024
RETRY_AFTER_SECONDS: Final = 5
_LOGGER: Final = logging.getLogger("martech_bus.aws")

LambdaEvent = dict[str, Any]
LambdaResponse = dict[str, Any] | None


class PipelineLike(Protocol):
    """What the entry point needs from a pipeline (``martech_bus.pipeline.Pipeline`` fits)."""

    def process(self, events: Iterable[Any]) -> list[EventResult]: ...


@dataclass(frozen=True, slots=True)
class InvocationContext:
    """What ``build`` needs to know about one invocation."""

    source: EventSource
    retry_later: RetryLater  # REPORT when the source retries by itself (SQS, Kinesis)
    remaining_time: RemainingTime | None = None  # seconds left; retries must end before it
    request_id: str | None = None

    @classmethod
    def for_invocation(cls, source: EventSource, lambda_context: Any) -> InvocationContext:
        """Built from the detected source and the Lambda context object (None outside Lambda)."""
        retry_later = RetryLater.REPORT if source.is_batch else RetryLater.DEAD_LETTER
        request_id = getattr(lambda_context, "aws_request_id", None)
        return cls(
            source,
            retry_later,
            remaining_time_of(lambda_context),
            request_id if isinstance(request_id, str) else None,
        )


def remaining_time_of(lambda_context: Any) -> RemainingTime | None:
    millis = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if not callable(millis):
        return None

    def remaining() -> float:
        return float(millis()) / 1000.0

    return remaining


class FlushError(TransientError):
    """Events queued for the bus could not be flushed before the invocation ended."""


class RetryLaterError(TransientError):
    """An EventBridge event could not be delivered now; raised so Lambda retries it."""


Build = Callable[[InvocationContext], PipelineLike]


def make_handler(
    build: Build,
    *,
    flush: Callable[[], None] | None = None,
    logger: logging.Logger = _LOGGER,
    max_body_bytes: int = MAX_BODY_BYTES,
    retry_after_seconds: int = RETRY_AFTER_SECONDS,
) -> Callable[[LambdaEvent, Any], LambdaResponse]:
    """A Lambda handler running every event through the pipeline ``build`` returns.

    ``build`` is called once per invocation that has events to process (not
    for a request rejected before the pipeline) and should cache what is
    expensive. ``flush`` must raise when something could not be flushed.
    ``max_body_bytes`` limits an API Gateway body (413 above it);
    ``retry_after_seconds`` is the ``Retry-After`` of a 503.
    """
    return _Handler(build, flush, logger, max_body_bytes, retry_after_seconds)


@dataclass(frozen=True, slots=True)
class _Handler:
    build: Build
    flush: Callable[[], None] | None
    logger: logging.Logger
    max_body_bytes: int
    retry_after_seconds: int

    def __call__(self, event: LambdaEvent, context: Any) -> LambdaResponse:
        try:
            source = detect_source(event)
            invocation = InvocationContext.for_invocation(source, context)
            if source.is_http:
                response = self._http(event, invocation)
            elif source.is_batch:
                response = self._batch(event, invocation)
            else:
                response = self._eventbridge(event, invocation)
        except BaseException as error:
            self._flush_after(error)
            raise
        return self._finish(invocation, response)

    # -- per source ---------------------------------------------------------------------------

    def _http(self, event: LambdaEvent, invocation: InvocationContext) -> LambdaResponse:
        request = http_request(event, invocation.source)
        if request.method != "POST":
            return responses.error_response(
                405, f"method {request.method or '(none)'} not allowed; use POST", {"Allow": "POST"}
            )
        try:
            data = request.data()
            if len(data) > self.max_body_bytes:
                return responses.error_response(
                    413, f"the request body is over the limit of {self.max_body_bytes} bytes"
                )
            events = body_events(data)
        except BadRequestError as exc:
            return responses.error_response(400, str(exc))
        try:
            results = self._process(invocation, events)
        except Exception:
            # A bug, not the client's mistake: keep the JSON contract and leave the trace in the log.
            self.logger.exception("pipeline failed", extra=_log_extra(invocation))
            return responses.error_response(
                500,
                "internal error: some events may not have been processed; sending them again is safe",
            )
        return responses.events_response(results, retry_after=self.retry_after_seconds)

    def _batch(self, event: LambdaEvent, invocation: InvocationContext) -> LambdaResponse:
        records = batch_records(event, invocation.source)
        ordered = invocation.source.is_ordered
        if ordered:
            results = self._process_in_order(invocation, records)
        else:
            results = self._process(invocation, [record.event for record in records])
        response = responses.batch_item_failures(records, results, ordered=ordered)
        if response["batchItemFailures"]:
            self.logger.warning(
                "records left for the source to deliver again",
                extra=_log_extra(invocation, failures=len(response["batchItemFailures"])),
            )
        return response

    def _eventbridge(self, event: LambdaEvent, invocation: InvocationContext) -> LambdaResponse:
        [result] = self._process(invocation, [eventbridge_event(event)])
        if result.status is EventStatus.RETRY_LATER:
            raise RetryLaterError(
                f"event {result.event_id} could not be delivered now ({result.reason}); "
                "raising so Lambda's asynchronous invocation retries it"
            )
        return responses.results_body([result])

    # -- pipeline -----------------------------------------------------------------------------

    def _process(self, invocation: InvocationContext, events: Sequence[Any]) -> list[EventResult]:
        results = _checked(self.build(invocation).process(events), len(events))
        self._log_results(invocation, results)
        return results

    def _process_in_order(
        self, invocation: InvocationContext, records: Sequence[Record]
    ) -> list[EventResult]:
        """One record at a time, stopping at the first RETRY_LATER.

        A later record must not be delivered before an earlier one (FIFO message
        groups, Kinesis shards), so batching is given up for order.
        """
        pipeline = self.build(invocation)
        results: list[EventResult] = []
        for record in records:
            [result] = _checked(pipeline.process([record.event]), 1)
            results.append(result)
            if result.status is EventStatus.RETRY_LATER:
                break
        self._log_results(invocation, results, unprocessed=len(records) - len(results))
        return results

    # -- flush ----------------------------------------------------------------------------------

    def _finish(self, invocation: InvocationContext, response: LambdaResponse) -> LambdaResponse:
        if self.flush is None:
            return response
        try:
            self.flush()
        except Exception as exc:
            if not invocation.source.is_http:
                raise FlushError(
                    f"events queued during this {invocation.source} invocation could not be "
                    f"flushed ({exc}); failing it so the source delivers it again"
                ) from exc
            self.logger.exception("flush failed", extra=_log_extra(invocation))
            return responses.unavailable(
                "the events could not be handed on; send the request again",
                self.retry_after_seconds,
            )
        return response

    def _flush_after(self, error: BaseException) -> None:
        """Flush on the way out of a failed invocation without hiding why it failed."""
        if self.flush is None:
            return
        try:
            self.flush()
        except Exception as flush_error:
            error.add_note(f"flushing afterwards also failed: {flush_error!r}")
            self.logger.error("flush failed after an error", exc_info=flush_error)

    def _log_results(
        self, invocation: InvocationContext, results: Sequence[EventResult], **more: int
    ) -> None:
        counts = Counter(result.status.value for result in results)
        self.logger.info(
            "processed events", extra=_log_extra(invocation, outcomes=dict(counts), **more)
        )


def _checked(results: list[EventResult], expected: int) -> list[EventResult]:
    # Matching results to records by position is only safe when every event got one.
    if len(results) != expected:
        raise RuntimeError(f"the pipeline returned {len(results)} results for {expected} events")
    return results


def _log_extra(invocation: InvocationContext, **more: Any) -> Mapping[str, Any]:
    return {"source": invocation.source.value, "request_id": invocation.request_id, **more}
