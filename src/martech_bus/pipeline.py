"""The one pipeline every entry point uses: validate -> route -> map -> deliver.

Entry points (a Lambda handler, the gateway's drainer, the bus connector, a
Python call) only turn their input into canonical events and the per-event
results into their own response shape. One bad event never fails a batch:
``process`` returns one ``EventResult`` per input, in order, and never raises
for a user's mistake.

Nothing is lost: an invalid event, a mapping failure and a terminal delivery
failure become dead letters with their reason; a transient failure is either
reported back as ``RETRY_LATER`` (when the caller's event source will retry it,
e.g. SQS) or dead-lettered once retries are exhausted (when nothing else would
retry it, e.g. an API Gateway request that has already been answered).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from martech_bus.errors import MappingError, ValidationError
from martech_bus.sinks.base import BUS, DIRECT, Delivery, Outcome, OutcomeKind, Sink

if TYPE_CHECKING:
    from martech_bus.idempotency.base import Claim, IdempotencyStore
    from martech_bus.observability.metrics import Metrics
    from martech_bus.routing.decision import RouteDecision
    from martech_bus.routing.stamp import DirectResult
    from martech_bus.schema.registry import SchemaRegistry
    from martech_bus.sinks.dlq import DeadLetterStore

logger = logging.getLogger("martech_bus.pipeline")

Now = Callable[[], datetime]
#: ``(vendor, event datum) -> RouteDecision``: the migration toggles (``FlagStore.decide``).
Router = Callable[[str, Mapping[str, Any]], "RouteDecision"]
VALIDATION_ROUTE = "validation"


class EventStatus(enum.StrEnum):
    """What became of one input event, all routes considered."""

    DELIVERED = "delivered"
    SKIPPED = "skipped"
    RETRY_LATER = "retry_later"
    DEAD_LETTERED = "dead_lettered"
    INVALID = "invalid"  # failed validation; kept as a dead letter with the problems


@dataclass(frozen=True, slots=True)
class EventResult:
    """The result for one input event: its status and one outcome per vendor route."""

    event_id: str | None
    status: EventStatus
    reason: str | None = None
    outcomes: tuple[Outcome, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing is left to do for this event (delivered or skipped on purpose)."""
        return self.status in (EventStatus.DELIVERED, EventStatus.SKIPPED)


class CompiledMappingLike(Protocol):
    """What the pipeline needs from a compiled mapping."""

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]: ...


class RetryLater(enum.StrEnum):
    """What to do with an event whose delivery failed transiently and exhausted its retries."""

    REPORT = "report"  # the event source retries it (SQS, Kinesis, the bus): report RETRY_LATER
    DEAD_LETTER = "dead_letter"  # nothing else will retry it: keep it in the DLQ for replay


@dataclass(frozen=True)
class VendorRoute:
    """Delivery of canonical events to one vendor: which mapping, which consent, which sink."""

    vendor: str
    mapping_for: Callable[[str], tuple[int, CompiledMappingLike] | None]
    sink: Sink
    consent_purposes: tuple[str, ...] = ()
    missing_consent_allowed: bool = False
    #: Per-event-type purposes (an adapter may relax them, e.g. for unsubscribes); overrides the above.
    consent_for: Callable[[str], tuple[str, ...]] | None = None
    route: str = DIRECT  # DIRECT for the sprint path, BUS when the bus connector delivers
    #: Overrides the pipeline's policy for this route (the bus route of a drainer: the
    #: buffer keeps the event until the broker is back, rather than dead-lettering it).
    retry_later: RetryLater | None = None


@dataclass
class Pipeline:
    """Validate, route, map and deliver canonical events; see the module docstring."""

    registry: SchemaRegistry
    routes: Sequence[VendorRoute]
    dead_letters: DeadLetterStore
    idempotency: IdempotencyStore | None = None
    retry_later: RetryLater = RetryLater.DEAD_LETTER
    now: Now = field(default=lambda: datetime.now(UTC))
    metrics: Metrics | None = None
    #: With a router, each vendor route delivers only the events its mode sends direct, and
    #: ``bus`` (a route whose sink is a ``BusSink``) publishes the events any mode publishes.
    router: Router | None = None
    bus: VendorRoute | None = None

    def process(self, events: Iterable[Any]) -> list[EventResult]:
        """One result per input event, in order; each logged, and counted when ``metrics`` is set."""
        started = time.perf_counter()
        results = self._process(events)
        self._observe(results, (time.perf_counter() - started) * 1000)
        return results

    def _observe(self, results: Sequence[EventResult], latency_ms: float) -> None:
        from martech_bus.observability.logs import log_event_result

        vendors = [route.vendor for route in self.routes]
        # A published event has one more outcome than there are vendor routes: the bus's.
        with_bus = [*vendors, self.bus.vendor] if self.bus is not None else vendors
        for result in results:
            names = with_bus if len(result.outcomes) > len(vendors) else vendors
            log_event_result(logger, result, vendor=names, latency_ms=latency_ms)
        if self.metrics is None:
            return
        for index, vendor in enumerate(vendors):  # one integration per route
            per_route = [replace(r, outcomes=r.outcomes[index : index + 1]) for r in results]
            self.metrics.record_results(per_route, integration=vendor, latency_ms=latency_ms)

    def _process(self, events: Iterable[Any]) -> list[EventResult]:
        from martech_bus.schema.validate import validate_event

        results: list[EventResult | None] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for index, raw in enumerate(events):
            try:
                _, datum = validate_event(self.registry, raw, now=self.now)
            except ValidationError as exc:
                results.append(self._invalid(raw, exc))
                continue
            results.append(None)
            valid.append((index, datum))
        per_event: dict[int, list[Outcome]] = {index: [] for index, _ in valid}
        plans = self._plans(valid)
        for position, route in enumerate(self.routes):
            for index, outcome in self._deliver_route(route, valid, plans, position):
                per_event[index].append(outcome)
        if plans is not None and self.bus is not None:
            for index, outcome in self._publish(self.bus, valid, plans):
                per_event[index].append(outcome)
        for index, datum in valid:
            results[index] = _summarise(str(datum["event_id"]), per_event[index])
        return [result for result in results if result is not None]

    # -- stages -----------------------------------------------------------------------

    def _invalid(self, raw: Any, error: ValidationError) -> EventResult:
        from martech_bus.sinks.dlq import DeadLetter, new_id  # on first use: a lighter cold start

        event_id = raw.get("event_id") if isinstance(raw, Mapping) else None
        event_id = event_id if isinstance(event_id, str) else None
        problems = tuple(str(p) for p in error.problems) or (error.message,)
        now = self.now()
        self.dead_letters.put(
            DeadLetter(
                id=new_id(now),
                event_id=event_id or "unknown",
                vendor="*",
                mapping_version=0,
                event=raw if isinstance(raw, Mapping) else {"value": raw},
                reason=f"invalid event: {error.message}",
                error="\n".join(problems),
                dead_lettered_at=now,
                route=VALIDATION_ROUTE,
            )
        )
        return EventResult(event_id, EventStatus.INVALID, error.message, problems=problems)

    def _plans(self, valid: Sequence[tuple[int, dict[str, Any]]]) -> dict[int, _RoutePlan] | None:
        """Each valid event's route decision per vendor (None without a router: all direct)."""
        if self.router is None:
            return None
        router = self.router
        return {
            index: _RoutePlan([router(route.vendor, datum) for route in self.routes])
            for index, datum in valid
        }

    def _deliver_route(
        self,
        route: VendorRoute,
        events: Sequence[tuple[int, dict[str, Any]]],
        plans: dict[int, _RoutePlan] | None = None,
        position: int = 0,
    ) -> list[tuple[int, Outcome]]:
        outcomes: list[tuple[int, Outcome]] = []
        pending: list[tuple[int, Delivery]] = []
        for index, datum in events:
            plan = plans[index] if plans is not None else None
            decision = plan.decisions[position] if plan is not None else None
            if decision is not None and not decision.deliver_direct:
                reason = (
                    f"{route.vendor} is in {decision.mode.value} mode: the bus connector delivers"
                )
                outcomes.append(
                    (index, Outcome(str(datum["event_id"]), OutcomeKind.SKIPPED, reason))
                )
                continue
            prepared = self.render(route, datum)
            if plan is not None and decision is not None and decision.connector_shadow:
                plan.direct[route.vendor] = _direct_result(prepared)
            if isinstance(prepared, Outcome):
                if prepared.kind is OutcomeKind.DEAD_LETTERED:  # a mapping failure: keep it
                    prepared = self._dead_letter(route, _unmapped(route, datum, prepared), prepared)
                outcomes.append((index, prepared))
            else:
                pending.append((index, prepared))
        outcomes += self._send(route, pending)
        outcomes.sort(key=lambda pair: pair[0])
        return outcomes

    def _publish(
        self,
        bus: VendorRoute,
        events: Sequence[tuple[int, dict[str, Any]]],
        plans: dict[int, _RoutePlan],
    ) -> list[tuple[int, Outcome]]:
        """Publish the events some vendor's mode puts on the bus, stamped with every mode."""
        from martech_bus.sinks.bus import stamp_payload

        pending: list[tuple[int, Delivery]] = []
        for index, datum in events:
            plan = plans[index]
            modes = {
                route.vendor: decision.mode
                for route, decision in zip(self.routes, plan.decisions, strict=True)
                if decision.publish
            }
            if modes:
                payload = stamp_payload(modes, plan.direct)
                pending.append(
                    (index, Delivery(str(datum["event_id"]), bus.vendor, 0, payload, datum))
                )
        return self._send(bus, pending)

    def _send(
        self, route: VendorRoute, pending: Sequence[tuple[int, Delivery]]
    ) -> list[tuple[int, Outcome]]:
        """Claim, deliver and settle ``pending`` on ``route``; outcomes sorted by input position."""
        outcomes: list[tuple[int, Outcome]] = []
        claimed, refused = self._claim(route, pending)
        outcomes.extend(refused)
        if claimed:
            delivered = route.sink.deliver([delivery for _, delivery, _ in claimed])
            outcomes.extend(self._settle(route, claimed, delivered))
        outcomes.sort(key=lambda pair: pair[0])
        return outcomes

    def render(self, route: VendorRoute, datum: Mapping[str, Any]) -> Delivery | Outcome:
        """The delivery for a valid ``datum`` on ``route``, or the outcome that makes one unnecessary.

        Pure: nothing is stored or sent. A mapping failure comes back as a
        ``DEAD_LETTERED`` outcome that is not stored yet (the bus connector's shadow
        mode renders without delivering).
        """
        from martech_bus.mapping.consent import consent_block_reason

        event_id = str(datum["event_id"])
        pinned = route.mapping_for(str(datum["event_type"]))
        if pinned is None:
            return Outcome(
                event_id, OutcomeKind.SKIPPED, f"{route.vendor} does not map {datum['event_type']}"
            )
        version, mapping = pinned
        event_type = str(datum["event_type"])
        purposes = route.consent_for(event_type) if route.consent_for else route.consent_purposes
        blocked = consent_block_reason(
            datum, purposes, missing_allowed=route.missing_consent_allowed
        )
        if blocked is not None:
            return Outcome(event_id, OutcomeKind.SKIPPED, blocked)
        try:
            payload = mapping(datum)
        except MappingError as exc:
            return Outcome(
                event_id,
                OutcomeKind.DEAD_LETTERED,
                f"mapping failed: {exc}",
                detail={"mapping_version": version},
            )
        return Delivery(event_id, route.vendor, version, payload, datum)

    def _claim(
        self, route: VendorRoute, pending: Sequence[tuple[int, Delivery]]
    ) -> tuple[list[tuple[int, Delivery, Claim | None]], list[tuple[int, Outcome]]]:
        if self.idempotency is None:
            return [(index, delivery, None) for index, delivery in pending], []
        claims = self.idempotency.claim_many(delivery.idempotency_key for _, delivery in pending)
        claimed: list[tuple[int, Delivery, Claim | None]] = []
        refused: list[tuple[int, Outcome]] = []
        in_batch: set[str] = set()
        for index, delivery in pending:
            key = delivery.idempotency_key
            claim = claims.pop(key, None)
            if claim is not None:
                claimed.append((index, delivery, claim))
                in_batch.add(key)
                continue
            if key in in_batch:  # the same event twice in one batch: its first copy is sent
                kind, reason = OutcomeKind.SKIPPED, "duplicate of an event earlier in this batch"
            elif self.idempotency.is_delivered(key):
                kind, reason = OutcomeKind.SKIPPED, f"already delivered to {route.vendor}"
            else:  # another sender holds a live lease: let the source retry after it settles
                kind, reason = OutcomeKind.RETRY_LATER, "delivery in progress elsewhere"
            refused.append((index, Outcome(delivery.event_id, kind, reason)))
        return claimed, refused

    def _settle(
        self,
        route: VendorRoute,
        claimed: Sequence[tuple[int, Delivery, Claim | None]],
        outcomes: Sequence[Outcome],
    ) -> list[tuple[int, Outcome]]:
        settled: list[tuple[int, Outcome]] = []
        done: list[Claim] = []
        failed: list[Claim] = []
        for (index, delivery, claim), outcome in zip(claimed, outcomes, strict=True):
            policy = route.retry_later or self.retry_later
            if (
                outcome.kind is OutcomeKind.RETRY_LATER and policy is RetryLater.DEAD_LETTER
            ) or outcome.kind is OutcomeKind.DEAD_LETTERED:
                outcome = self._dead_letter(route, delivery, outcome)
            if claim is not None:
                (done if outcome.kind is OutcomeKind.DELIVERED else failed).append(claim)
            settled.append((index, outcome))
        if self.idempotency is not None:
            self.idempotency.complete_many(done)
            # A dead-lettered event is released, not completed: a replay must be able to claim it.
            self.idempotency.release_many(failed)
        return settled

    def _dead_letter(self, route: VendorRoute, delivery: Delivery, outcome: Outcome) -> Outcome:
        from martech_bus.sinks.dlq import DeadLetter

        record = DeadLetter.from_outcome(delivery, outcome, route=route.route, now=self.now())
        self.dead_letters.put(record)
        return Outcome(
            outcome.event_id,
            OutcomeKind.DEAD_LETTERED,
            outcome.reason,
            outcome.attempts,
            outcome.status_code,
            {"dead_letter_id": record.id},
        )


@dataclass(slots=True)
class _RoutePlan:
    """One event's decisions (one per vendor route, in order) and its direct results to shadow."""

    decisions: list[RouteDecision]
    direct: dict[str, DirectResult] = field(default_factory=dict)


def _direct_result(prepared: Delivery | Outcome) -> DirectResult:
    from martech_bus.routing.stamp import DirectResult

    if isinstance(prepared, Outcome):
        return DirectResult(skipped=prepared.reason or prepared.kind.value)
    return DirectResult(dict(prepared.payload), prepared.mapping_version)


def _unmapped(route: VendorRoute, datum: Mapping[str, Any], failed: Outcome) -> Delivery:
    """The delivery a mapping failure leaves for its dead letter (no payload)."""
    version = failed.detail.get("mapping_version", 0)
    return Delivery(str(datum["event_id"]), route.vendor, int(version), {}, datum)


def _summarise(event_id: str, outcomes: Sequence[Outcome]) -> EventResult:
    kinds = {outcome.kind for outcome in outcomes}
    reasons = "; ".join(
        o.reason for o in outcomes if o.reason and o.kind is not OutcomeKind.DELIVERED
    )
    if OutcomeKind.RETRY_LATER in kinds:
        status = EventStatus.RETRY_LATER
    elif OutcomeKind.DEAD_LETTERED in kinds:
        status = EventStatus.DEAD_LETTERED
    elif OutcomeKind.DELIVERED in kinds:
        status = EventStatus.DELIVERED
    else:
        status = EventStatus.SKIPPED
    return EventResult(event_id, status, reasons or None, tuple(outcomes))


__all__ = ["BUS", "DIRECT", "EventResult", "EventStatus", "Pipeline", "RetryLater", "VendorRoute"]
