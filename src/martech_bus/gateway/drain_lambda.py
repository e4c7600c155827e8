"""The serverless drainer: a Lambda function on the gateway's SQS buffer queue.

The gateway Lambda (``gateway.lambda_handler``) acknowledges a request once SQS
holds it; this function is the queue's event source mapping target. Each
invocation gets a batch of buffer records and runs the same ``Drainer`` as
``gateway serve --adapter``: normalize, the routed pipeline, quarantine. The
answer is a partial batch response (REFERENCE.md, "Lambda batch responses"):
records whose events must be retried are reported in ``batchItemFailures`` and
come back after the queue's visibility timeout; everything else is deleted by
Lambda. Enable ``ReportBatchItemFailures`` on the event source mapping::

    # drain.py
    from martech_bus.gateway.drain_lambda import drainer_handler

    handler = drainer_handler("braze", "ga4")

A record received more often than ``max_attempts`` (SQS's
``ApproximateReceiveCount``) is quarantined whole, like the embedded drainer's
poison; a redrive policy on the queue is a second net. Vendor deliveries that
exhaust their retries are dead-lettered (the request was answered long ago); a
publish the bus does not confirm is retried through the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from martech_bus.buffer.base import DEFAULT_MAX_ATTEMPTS, Claimed

if TYPE_CHECKING:
    from martech_bus.gateway.quarantine import QuarantineStore
    from martech_bus.gateway.sources import InboundSource
    from martech_bus.integration import Runtime

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class SqsEventBatch:
    """One invocation's SQS records as buffer leases: claimed once, acked or released."""

    def __init__(self, event: Mapping[str, Any], max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        from martech_bus.buffer.sqs import taken_from_message

        self._claims: list[Claimed] = []
        for record in event.get("Records") or ():
            taken = taken_from_message(_as_message(record))
            poison = taken.problem is not None or taken.record.attempts > max_attempts
            reason = taken.problem or (
                f"received {taken.record.attempts} times (max_attempts {max_attempts})"
                if poison
                else None
            )
            self._claims.append(Claimed(taken.record, taken.token, float("inf"), poison, reason))
        self._given = False
        self.failed: dict[str, str] = {}  # SQS message id (the token) -> record id

    def claim(self, limit: int = 10, visibility_timeout: float | None = None) -> list[Claimed]:
        if self._given:
            return []
        self._given = True
        return list(self._claims)

    def ack(self, claims: Iterable[Claimed]) -> set[str]:
        return {claim.record.id for claim in claims}

    def release(self, claims: Iterable[Claimed], delay: float = 0.0) -> set[str]:
        released = set()
        for claim in claims:
            self.failed[claim.token] = claim.record.id
            released.add(claim.record.id)
        return released

    def response(self) -> dict[str, Any]:
        """The partial batch response: every released record comes back from the queue."""
        return {"batchItemFailures": [{"itemIdentifier": token} for token in self.failed]}


def _as_message(record: Mapping[str, Any]) -> dict[str, Any]:
    """A Lambda SQS record in the shape ``ReceiveMessage`` returns (what the buffer decodes).

    The receipt handle's place is taken by the message id: a partial batch response
    names messages by id.
    """
    attributes = {
        name: {"StringValue": value.get("stringValue"), "DataType": value.get("dataType")}
        for name, value in (record.get("messageAttributes") or {}).items()
    }
    return {
        "MessageId": record.get("messageId", ""),
        "ReceiptHandle": record.get("messageId", ""),
        "Body": record.get("body", ""),
        "MessageAttributes": attributes,
        "Attributes": dict(record.get("attributes") or {}),
    }


def drainer_handler(
    *adapters: str | Path,
    runtime: Runtime | None = None,
    sources: Mapping[str, InboundSource] | None = None,
    sources_dir: str | Path | None = None,
    quarantine: QuarantineStore | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    emf: bool = True,
) -> LambdaHandler:
    """A Lambda handler for SQS events from the gateway's buffer queue, delivering to ``adapters``.

    Stores follow the environment (``MARTECH_BUS_QUARANTINE``, ``MARTECH_BUS_DLQ``,
    ``MARTECH_BUS_IDEMPOTENCY``, ``MARTECH_BUS_FLAGS``, ...); everything is built on
    the first invocation and kept for the container's life.
    """
    if not adapters:
        raise ValueError("drainer_handler needs at least one adapter")
    built: list[tuple[Runtime, Any, Any]] = []

    def parts() -> tuple[Runtime, Any, Any]:
        if not built:
            from martech_bus.gateway.normalizer import Normalizer
            from martech_bus.gateway.quarantine import quarantine_store
            from martech_bus.gateway.sources import find_sources
            from martech_bus.integration import Runtime
            from martech_bus.observability.logs import configure_logging

            made = runtime
            if made is None:  # a runtime passed in comes with its owner's logging (tests, apps)
                made = Runtime()
                configure_logging(registry=made.registry)
            found = sources if sources is not None else find_sources(sources_dir)
            built.append((made, Normalizer(found, made.registry), quarantine or quarantine_store()))
        return built[0]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from martech_bus.aws.handler import remaining_time_of
        from martech_bus.gateway.drainer import Drainer
        from martech_bus.pipeline import RetryLater

        made, normalizer, kept = parts()
        batch = SqsEventBatch(event, max_attempts)
        pipeline = made.pipeline(
            list(adapters),
            retry_later=RetryLater.DEAD_LETTER,
            bus_retry_later=RetryLater.REPORT,
            remaining_time=remaining_time_of(context),
        )
        count = len(event.get("Records") or ())
        try:
            Drainer(
                batch,
                normalizer,
                pipeline.process,
                kept,
                batch_size=max(count, 1),
                clock=made.clock,
            ).run_once()
        finally:
            if emf:
                from martech_bus.observability.emf import EmfPublisher

                EmfPublisher().flush(made.metrics)
        return batch.response()

    return handler


__all__ = ["SqsEventBatch", "drainer_handler"]
