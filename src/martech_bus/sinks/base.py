"""What every sink receives and returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

#: Routes a delivery takes (kept with a dead letter, so a replay goes the same way).
DIRECT: Final = "direct"  # the sprint path: entry point -> vendor
BUS: Final = "bus"  # the marathon path: Kafka connector -> vendor


class OutcomeKind(enum.StrEnum):
    """What became of one event on one route."""

    DELIVERED = "delivered"
    SKIPPED = "skipped"  # not sent on purpose: consent denied, filtered, already delivered
    RETRY_LATER = "retry_later"  # transient failure; the caller keeps the event and tries again
    DEAD_LETTERED = "dead_lettered"  # terminal failure or retries exhausted; kept in the DLQ


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event's vendor payload, ready to send, with what the DLQ needs to replay it."""

    event_id: str
    vendor: str
    mapping_version: int
    payload: Mapping[str, Any]
    event: Mapping[str, Any]  # the canonical event (datum form)

    @property
    def idempotency_key(self) -> str:
        """event_id + vendor + mapping version: one delivery per event and mapping."""
        return f"{self.vendor}:{self.mapping_version}:{self.event_id}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of delivering one event."""

    event_id: str
    kind: OutcomeKind
    reason: str | None = None
    attempts: int = 0
    status_code: int | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Delivered or deliberately skipped: nothing left to do for this event."""
        return self.kind in (OutcomeKind.DELIVERED, OutcomeKind.SKIPPED)


class Sink(Protocol):
    """Delivers a batch of deliveries and reports one outcome per delivery, in order."""

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]: ...
