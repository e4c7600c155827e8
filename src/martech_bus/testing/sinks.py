"""An in-memory sink for unit tests (ours and users'): records deliveries, answers as scripted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind

Answer = Callable[[Delivery], Outcome]


def delivered(delivery: Delivery) -> Outcome:
    """The default answer: the vendor accepted it."""
    return Outcome(delivery.event_id, OutcomeKind.DELIVERED, attempts=1, status_code=200)


@dataclass
class RecordingSink:
    """A ``Sink`` that keeps every delivery it is given and answers with ``answer``.

    ``answer`` decides per delivery (e.g. fail one event id, or fail the first N
    calls); every *accepted* delivery is in ``accepted``, every call's batch in
    ``batches``.
    """

    answer: Answer = delivered
    batches: list[list[Delivery]] = field(default_factory=list)
    accepted: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes = [self.answer(delivery) for delivery in deliveries]
        with self._lock:
            self.batches.append(list(deliveries))
            self.accepted.extend(
                d
                for d, o in zip(deliveries, outcomes, strict=True)
                if o.kind is OutcomeKind.DELIVERED
            )
        return outcomes

    @property
    def accepted_event_ids(self) -> list[str]:
        """Event ids the vendor accepted, in delivery order (duplicates included)."""
        return [delivery.event_id for delivery in self.accepted]
