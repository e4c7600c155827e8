"""Replay dead letters through the same pipeline, idempotently.

A replayed record goes through validation, consent, mapping and delivery again
(after a fix to a mapping, a schema or the vendor's availability). Success marks
the record replayed; a failure leaves it where it is — replay never writes a
second dead letter for the same failure — and idempotency keeps an event that
was meanwhile delivered from being sent twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from martech_bus.errors import ConfigError
from martech_bus.pipeline import EventResult, EventStatus, RetryLater
from martech_bus.sinks.bus import BUS_VENDOR

if TYPE_CHECKING:
    from martech_bus.integration import Runtime
    from martech_bus.sinks.dlq import DeadLetter, DeadLetterStore


class ReplayVerdict(enum.StrEnum):
    """What replaying one dead letter did."""

    DELIVERED = "delivered"  # sent now, or found already delivered / no longer needed
    FAILED = "failed"  # still failing; the record stays in the DLQ
    WOULD_REPLAY = "would_replay"  # --dry-run


@dataclass(frozen=True, slots=True)
class ReplayedRecord:
    """One dead letter and what its replay did."""

    record: DeadLetter
    verdict: ReplayVerdict
    reason: str | None = None


@dataclass
class ReplayReport:
    """Every record considered, in order."""

    records: list[ReplayedRecord] = field(default_factory=list)

    def count(self, verdict: ReplayVerdict) -> int:
        return sum(1 for item in self.records if item.verdict is verdict)


def replay(
    store: DeadLetterStore,
    runtime: Runtime,
    *,
    vendor: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    on_record: Callable[[ReplayedRecord], None] | None = None,
) -> ReplayReport:
    """Replay the waiting dead letters (optionally one vendor's, or those since ``since``)."""
    from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore

    report = ReplayReport()
    for record in store.list(vendor=vendor, since=since):
        if dry_run:
            item = ReplayedRecord(record, ReplayVerdict.WOULD_REPLAY)
        else:
            item = (
                _republish(record, runtime)
                if record.vendor == BUS_VENDOR
                else _verdict(record, _redeliver(record, runtime, MemoryDeadLetterStore()))
            )
            if item.verdict is ReplayVerdict.DELIVERED:
                store.mark_replayed(record.id)
        report.records.append(item)
        if on_record is not None:
            on_record(item)
    return report


def _redeliver(record: DeadLetter, runtime: Runtime, scratch: DeadLetterStore) -> EventResult:
    """Run the event through the pipeline again; failures land in ``scratch``, not the DLQ.

    A vendor's dead letter goes straight to that vendor again (the delivery that
    failed); an event that failed validation is routed like a new one, by the
    migration flags.
    """
    pipeline = runtime.pipeline(
        _adapters_for(record, runtime),
        retry_later=RetryLater.REPORT,
        routed=record.vendor == "*",
    )
    pipeline.dead_letters = scratch
    (result,) = pipeline.process([record.event])
    return result


def _republish(record: DeadLetter, runtime: Runtime) -> ReplayedRecord:
    """Publish a dead letter of the bus route again, with the route stamp it was made with."""
    from martech_bus.errors import ValidationError
    from martech_bus.schema.validate import validate_event
    from martech_bus.sinks.base import Delivery, OutcomeKind

    try:
        _, datum = validate_event(runtime.registry, record.event)
    except ValidationError as exc:
        return ReplayedRecord(record, ReplayVerdict.FAILED, exc.message)
    from martech_bus.sinks.bus import stamp_of, stamp_payload

    stored = stamp_of(record.extra.get("stamp") or "{}")
    stamp = stamp_payload(stored.modes, stored.direct)
    (outcome,) = runtime.bus_sink.deliver([Delivery(record.event_id, BUS_VENDOR, 0, stamp, datum)])
    if outcome.kind is OutcomeKind.DELIVERED:
        return ReplayedRecord(record, ReplayVerdict.DELIVERED, "published to the bus")
    return ReplayedRecord(record, ReplayVerdict.FAILED, outcome.reason or outcome.kind.value)


def _adapters_for(record: DeadLetter, runtime: Runtime) -> Sequence[str]:
    """The vendor it was going to; every adapter for an event that failed validation."""
    if record.vendor != "*":
        return [record.vendor]
    from martech_bus.adapter.loader import find_adapters

    names = [adapter.name for adapter in find_adapters(runtime.adapters_dir)]
    if not names:
        raise ConfigError("no adapters found to replay an event that failed validation")
    return names


def _verdict(record: DeadLetter, result: EventResult) -> ReplayedRecord:
    if result.status in (EventStatus.DELIVERED, EventStatus.SKIPPED):
        return ReplayedRecord(record, ReplayVerdict.DELIVERED, result.reason)
    problems = "; ".join(result.problems)
    return ReplayedRecord(
        record, ReplayVerdict.FAILED, problems or result.reason or result.status.value
    )
