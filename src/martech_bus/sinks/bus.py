"""The bus as a pipeline route: deliveries in, canonical events published with their route stamp.

The pipeline treats publishing like any other route (claim, deliver, settle,
dead-letter), so a publish that fails is retried or kept exactly like a vendor
delivery that fails. Each delivery's ``event`` is the canonical event and its
``payload`` the route stamp (``{"routes": {vendor: mode}, "direct": {vendor: result}}``,
see ``martech_bus.routing.stamp``).

The publisher is made on the first publish: an entry point whose integrations
all route ``direct`` never connects to Kafka (nor imports confluent-kafka).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from martech_bus.routing.modes import RouteMode
from martech_bus.routing.stamp import DirectResult, RouteStamp
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind

if TYPE_CHECKING:
    from martech_bus.bus.publisher import BusPublisher

#: The vendor name of the bus route (dead letters, idempotency keys, logs).
BUS_VENDOR: Final = "bus"


def stamp_payload(
    modes: Mapping[str, RouteMode], direct: Mapping[str, DirectResult]
) -> dict[str, Any]:
    """The JSON-ready payload of a bus delivery (kept whole in a dead letter, for replay)."""
    return {
        "routes": {vendor: mode.value for vendor, mode in modes.items()},
        "direct": {vendor: result.as_dict() for vendor, result in direct.items()},
    }


def stamp_of(payload: Mapping[str, Any] | str) -> RouteStamp:
    """The ``RouteStamp`` a ``stamp_payload`` (or its JSON, from a dead letter) describes."""
    if isinstance(payload, str):
        payload = json.loads(payload)
        assert isinstance(payload, Mapping)
    routes = payload.get("routes") or {}
    direct = payload.get("direct") or {}
    return RouteStamp(
        {str(vendor): RouteMode(mode) for vendor, mode in routes.items()},
        {str(vendor): DirectResult.from_dict(value) for vendor, value in direct.items()},
    )


class BusSink:
    """Publishes deliveries' canonical events with their stamps; one outcome per delivery."""

    def __init__(self, publisher: Callable[[], BusPublisher]) -> None:
        self._connect = publisher
        self._publisher: BusPublisher | None = None

    @property
    def publisher(self) -> BusPublisher:
        if self._publisher is None:
            self._publisher = self._connect()
        return self._publisher

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        if not deliveries:
            return []
        report = self.publisher.publish(
            [delivery.event for delivery in deliveries],
            extra_headers=[stamp_of(delivery.payload).headers() for delivery in deliveries],
        )
        confirmed = {item.event_id: item for item in report.confirmed}
        failed = {item.event_id: item for item in report.failed}
        rejected = {item.index: item for item in report.rejected}
        outcomes = []
        for index, delivery in enumerate(deliveries):
            event_id = delivery.event_id
            # Dead-letter detail is stored as text: the stamp goes as JSON, for replay.
            keep = {"stamp": json.dumps(delivery.payload, default=str, sort_keys=True)}
            if event_id in confirmed:
                done = confirmed[event_id]
                detail = {"topic": done.topic, "partition": done.partition, "offset": done.offset}
                outcomes.append(Outcome(event_id, OutcomeKind.DELIVERED, attempts=1, detail=detail))
            elif index in rejected:
                reason = f"not publishable: {rejected[index].error.message}"
                outcomes.append(Outcome(event_id, OutcomeKind.DEAD_LETTERED, reason, 1, None, keep))
            else:
                item = failed.get(event_id)
                reason = f"not confirmed by the bus: {item.reason}" if item else "not confirmed"
                kind = OutcomeKind.RETRY_LATER
                if item is not None and not item.retriable:
                    kind = OutcomeKind.DEAD_LETTERED
                outcomes.append(Outcome(event_id, kind, reason, 1, None, keep))
        return outcomes

    def close(self) -> None:
        """Flush and drop the publisher, if one was made."""
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None


__all__ = ["BUS_VENDOR", "BusSink", "stamp_of", "stamp_payload"]
