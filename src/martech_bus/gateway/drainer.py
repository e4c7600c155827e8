"""The drainer: buffered records -> canonical events -> the processing callable -> ack.

``run_once`` claims a batch of records (each under a lease), turns each into
canonical events (vendor payloads through the ``Normalizer``; records from
``POST /v1/events`` already are one), hands all of them to ``process`` in one
call and settles every record by its events' results:

- every event done (delivered, skipped, dead-lettered, invalid: the pipeline
  kept it) and every failed item quarantined -> ``ack``;
- any event ``RETRY_LATER`` -> ``release`` with an exponential backoff: the
  record stays buffered and comes back later, whole (events already delivered
  are skipped then by the idempotency store, by event id);
- ``process`` raising (a bug, a store down) -> every claimed record released.

A record is acked only after all of that is durable, so a drainer that dies at
any point leaves its records leased; the lease runs out (the visibility timeout)
and another drainer claims them again. Delivery is at least once; downstream
dedupes by event id, and quarantining the same item twice replaces it.

A record claimed more often than the buffer's ``max_attempts`` (poison) is
quarantined whole, then acked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from martech_bus.gateway.normalizer import Failure, Normalizer
from martech_bus.gateway.quarantine import QuarantinedItem, QuarantineStore
from martech_bus.gateway.sources import CANONICAL
from martech_bus.pipeline import EventResult, EventStatus

if TYPE_CHECKING:
    from martech_bus.buffer.base import Claimed
    from martech_bus.gateway.expiry import ExpiryMonitor
    from martech_bus.observability.metrics import Metrics

logger = logging.getLogger("martech_bus.gateway.drainer")

Process = Callable[[list[Any]], list[EventResult]]


class Leases(Protocol):
    """What the drainer needs from a buffer: a ``BufferStore``, or one Lambda batch of SQS records."""

    def claim(self, limit: int = ..., visibility_timeout: float | None = ...) -> list[Claimed]: ...

    def ack(self, claims: Iterable[Claimed]) -> set[str]: ...

    def release(self, claims: Iterable[Claimed], delay: float = ...) -> set[str]: ...


Backoff = Callable[[int], float]

DEFAULT_BATCH: Final = 50
DEFAULT_IDLE: Final = 0.5


def exponential_backoff(base: float = 1.0, cap: float = 300.0) -> Backoff:
    """``attempts -> min(cap, base * 2**(attempts-1))`` seconds."""

    def delay(attempts: int) -> float:
        return float(min(cap, base * 2 ** max(0, attempts - 1)))

    return delay


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What one ``run_once`` did."""

    claimed: int = 0
    acked: int = 0
    released: int = 0
    events: int = 0
    quarantined: int = 0
    skipped: int = 0
    poison: int = 0


class Drainer:
    """Moves records from ``buffer`` through ``process``; see the module docstring.

    ``sleep`` waits between empty polls in ``run`` (default: the stop event's own
    wait, so ``stop_event.set()`` ends a wait at once); ``clock`` dates quarantined items.
    """

    def __init__(
        self,
        buffer: Leases,
        normalizer: Normalizer,
        process: Process,
        quarantine: QuarantineStore,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
        *,
        batch_size: int = DEFAULT_BATCH,
        visibility_timeout: float | None = None,
        backoff: Backoff | None = None,
        idle_interval: float = DEFAULT_IDLE,
        metrics: Metrics | None = None,
        expiry: ExpiryMonitor | None = None,
    ) -> None:
        self.buffer = buffer
        self.normalizer = normalizer
        self.process = process
        self.quarantine = quarantine
        self.clock = clock
        self.sleep = sleep
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.backoff = backoff or exponential_backoff()
        self.idle_interval = idle_interval
        self.metrics = metrics
        self.expiry = expiry

    def run(self, stop_event: threading.Event) -> None:
        """Drain until ``stop_event`` is set; errors are logged and retried after a pause."""
        wait = self.sleep or stop_event.wait
        while not stop_event.is_set():
            try:
                report = self.run_once()
            except Exception:  # a store that is down: keep the loop alive, try again later
                logger.exception("draining failed; trying again in %.1f s", self.idle_interval)
                report = DrainReport()
            if self.expiry is not None:
                self.expiry.tick()
            if report.claimed == 0:
                wait(self.idle_interval)

    def run_once(self) -> DrainReport:
        """Claim one batch and settle every record of it; what was done."""
        claims = self.buffer.claim(self.batch_size, self.visibility_timeout)
        if not claims:
            return DrainReport()
        quarantined = poison = skipped = 0
        work: list[tuple[Claimed, list[Any]]] = []
        done: list[Claimed] = []  # nothing left to process: ack once quarantined
        for claim in claims:
            if claim.poison:
                self._quarantine(claim, [Failure(None, f"poison record: {claim.reason}")])
                quarantined, poison = quarantined + 1, poison + 1
                done.append(claim)
                continue
            events, failures, skips = self._events(claim)
            if failures:
                self._quarantine(claim, failures)
                quarantined += len(failures)
            skipped += skips
            if events:
                work.append((claim, events))
            else:
                done.append(claim)
        flat = [event for _, events in work for event in events]
        try:
            results = self.process(flat) if flat else []
            if len(results) != len(flat):
                raise RuntimeError(
                    f"process returned {len(results)} results for {len(flat)} events"
                )
        except Exception:
            logger.exception("processing %d events failed; their records are released", len(flat))
            released = self._release([claim for claim, _ in work])
            acked = len(self.buffer.ack(done)) if done else 0
            return DrainReport(
                len(claims), acked, released, len(flat), quarantined, skipped, poison
            )
        retry: list[Claimed] = []
        position = 0
        for claim, events in work:
            mine = results[position : position + len(events)]
            position += len(events)
            if any(result.status is EventStatus.RETRY_LATER for result in mine):
                retry.append(claim)
            else:
                done.append(claim)
        released = self._release(retry)
        acked = len(self.buffer.ack(done)) if done else 0
        return DrainReport(len(claims), acked, released, len(flat), quarantined, skipped, poison)

    def _events(self, claim: Claimed) -> tuple[list[Any], list[Failure], int]:
        record = claim.record
        if record.source == CANONICAL:
            # The body as POST /v1/events took it (one event, an array or {"events": [...]});
            # validating the events is the pipeline's job (INVALID -> a dead letter).
            from martech_bus.aws.sources import BadRequestError, body_events

            try:
                return body_events(record.payload), [], 0
            except BadRequestError as exc:  # not what the gateway accepts: keep it whole
                return [], [Failure(None, f"not a canonical request body: {exc}")], 0
        normalized = self.normalizer.normalize(record)
        return (
            [event for _, event in normalized.events],
            normalized.failures,
            len(normalized.skipped),
        )

    def _quarantine(self, claim: Claimed, failures: Sequence[Failure]) -> None:
        record = claim.record
        now = self.clock()
        for failure in failures:
            self.quarantine.put(
                QuarantinedItem(
                    record_id=record.id,
                    item=failure.item,
                    source=record.source,
                    payload=record.payload,
                    meta=record.meta,
                    received_at=record.received_at,
                    quarantined_at=now,
                    reason=failure.reason,
                    problems=failure.problems,
                )
            )
            logger.warning(
                "quarantined %s from %s: %s",
                record.id if failure.item is None else f"{record.id}#{failure.item}",
                record.source,
                failure.reason,
            )
            if self.metrics is not None:
                self.metrics.increment("events", integration=record.source, outcome="quarantined")

    def _release(self, claims: Sequence[Claimed]) -> int:
        released = 0
        for claim in claims:  # one call per record: each has its own backoff
            released += len(self.buffer.release([claim], self.backoff(claim.record.attempts)))
        return released


__all__ = ["DrainReport", "Drainer", "Leases", "exponential_backoff"]
