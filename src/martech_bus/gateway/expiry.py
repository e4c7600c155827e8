"""Expiry of inbound sources: the gateway is a stop-gap, and says so until it is migrated.

Every source declares ``expires_on``, an ``owner`` and a ``migration_plan``. Past
its date a source keeps working (data is never dropped for being late), but the
gateway warns at every start and again every ``interval`` seconds of the
injected clock, and exposes gauges per source:

- ``gateway_source_expired{source}``: 1 once past ``expires_on``, else 0;
- ``gateway_source_days_left{source}``: days until ``expires_on`` (negative after).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from martech_bus.gateway.metrics import INTEGRATION

if TYPE_CHECKING:
    from martech_bus.gateway.sources import InboundSource
    from martech_bus.observability.metrics import Metrics

logger = logging.getLogger("martech_bus.gateway.expiry")

DEFAULT_INTERVAL: Final = 3600.0


class ExpiryMonitor:
    """Warns about expired sources at ``start()`` and, via ``tick()``, every ``interval`` s."""

    def __init__(
        self,
        sources: Iterable[InboundSource],
        *,
        clock: Callable[[], float] = time.time,
        interval: float = DEFAULT_INTERVAL,
        metrics: Metrics | None = None,
    ) -> None:
        self.sources = list(sources)
        self.clock = clock
        self.interval = interval
        self.metrics = metrics
        self._next: float | None = None
        self._lock = threading.Lock()

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock(), UTC).date()

    def expired(self) -> list[InboundSource]:
        """The sources past their ``expires_on`` today."""
        today = self.today()
        return [source for source in self.sources if source.expired(today)]

    def start(self) -> list[str]:
        """Warn about every expired source now; the warnings given."""
        with self._lock:
            self._next = self.clock() + self.interval
        return self._warn()

    def tick(self) -> list[str]:
        """Warn again when ``interval`` has passed since the last warning; the warnings given."""
        now = self.clock()
        with self._lock:
            if self._next is not None and now < self._next:
                return []
            self._next = now + self.interval
        return self._warn()

    def update_metrics(self) -> None:
        """Set the gauges for today (also done by every warning round)."""
        if self.metrics is None:
            return
        today = self.today()
        for source in self.sources:
            labels = {"integration": INTEGRATION, "source": source.name}
            self.metrics.set_gauge("gateway_source_expired", float(source.expired(today)), **labels)
            self.metrics.set_gauge("gateway_source_days_left", source.days_left(today), **labels)

    def _warn(self) -> list[str]:
        self.update_metrics()
        today = self.today()
        warnings = [message(source, today) for source in self.expired()]
        for text in warnings:
            logger.warning(text)
        return warnings


def message(source: InboundSource, today: date) -> str:
    """The warning for an expired source: who owns it and where the migration plan is."""
    days = -source.days_left(today)
    owner = source.owner
    return (
        f"inbound source {source.name!r} expired on {source.expires_on.isoformat()} "
        f"({days} day{'s' * (days != 1)} ago); it keeps accepting data, but it is a stop-gap: "
        f"migrate it ({source.migration_plan}); owner {owner.team} <{owner.contact}>"
    )


__all__ = ["ExpiryMonitor", "message"]
