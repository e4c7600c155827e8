"""Replaying quarantined items after a fix: normalize again, buffer what now works, keep the rest.

Items that now normalize are appended to the buffer as one canonical record
each (``{"events": [...]}``, record id ``replay-<quarantine id>``), then removed
from quarantine; the drainer takes them from there like any other request, so
replay needs no pipeline. Append first, remove second: a crash in between
replays the item again, and the drainer's downstream dedupes the events by id
(inbound event ids are derived from the payload, so they are the same).

An item quarantined whole (``<record id>``: not JSON, poison, ...) that now
splits into items is replaced by what it became: its events buffered, and each
item that still fails quarantined on its own (``<record id>#<n>``). A
quarantined ``canonical`` record (poison from ``POST /v1/events``) is buffered
again as it was.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from martech_bus.buffer.base import Incoming
from martech_bus.gateway.normalizer import Normalized, Normalizer
from martech_bus.gateway.quarantine import QuarantinedItem, QuarantineStore
from martech_bus.gateway.sources import CANONICAL

if TYPE_CHECKING:
    from martech_bus.buffer.base import BufferStore


class ReplayVerdict(enum.StrEnum):
    REPLAYED = "replayed"  # buffered again, removed from quarantine
    WOULD_REPLAY = "would_replay"  # dry run: it would be
    SKIPPED = "skipped"  # its source now skips it on purpose (unmapped: skip): removed
    FAILED = "failed"  # still does not normalize: kept, with the new reason


@dataclass(frozen=True, slots=True)
class ReplayedItem:
    item: QuarantinedItem
    verdict: ReplayVerdict
    events: int = 0
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReplayReport:
    items: list[ReplayedItem] = field(default_factory=list)

    def count(self, verdict: ReplayVerdict) -> int:
        return sum(item.verdict is verdict for item in self.items)


def replay_quarantine(
    quarantine: QuarantineStore,
    normalizer: Normalizer,
    buffer: BufferStore,
    *,
    source: str | None = None,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    on_item: Callable[[ReplayedItem], None] | None = None,
) -> ReplayReport:
    """Normalize every quarantined item (of ``source``) again; see the module docstring."""
    report = ReplayReport()
    for item in quarantine.list(source=source):
        done = _replay_one(item, quarantine, normalizer, buffer, dry_run, clock)
        report.items.append(done)
        if on_item is not None:
            on_item(done)
    return report


def _replay_one(
    item: QuarantinedItem,
    quarantine: QuarantineStore,
    normalizer: Normalizer,
    buffer: BufferStore,
    dry_run: bool,
    clock: Callable[[], float],
) -> ReplayedItem:
    if item.source == CANONICAL:
        from martech_bus.aws.sources import BadRequestError, body_events

        try:
            events = body_events(item.payload)
        except BadRequestError as exc:
            return _still_failing(
                item, quarantine, dry_run, clock, f"not a canonical request body: {exc}"
            )
        if not dry_run:
            meta = {**item.meta, "replayed_from": item.id}
            buffer.append([Incoming(CANONICAL, item.payload, meta, id=f"replay-{item.id}")])
            quarantine.remove(item.id)
        verdict = ReplayVerdict.WOULD_REPLAY if dry_run else ReplayVerdict.REPLAYED
        return ReplayedItem(item, verdict, len(events))
    result: Normalized = normalizer.normalize_payload(
        item.source, item.payload, item.meta, record_id=item.record_id, received_at=item.received_at
    ).only(item.item)
    whole = [failure for failure in result.failures if failure.item is None]
    if whole or (item.item is not None and result.failures):
        failure = (whole or result.failures)[0]
        return _still_failing(item, quarantine, dry_run, clock, failure.reason, failure.problems)
    events = [event for _, event in result.events]
    if dry_run:
        verdict = ReplayVerdict.WOULD_REPLAY if events else ReplayVerdict.SKIPPED
        return ReplayedItem(item, verdict, len(events))
    if events:
        body = json.dumps({"events": events}, ensure_ascii=False, separators=(",", ":"))
        meta = {"route": CANONICAL, "replayed_from": item.id, "origin": item.source}
        buffer.append([Incoming(CANONICAL, body.encode("utf-8"), meta, id=f"replay-{item.id}")])
    for failure in result.failures:  # the items of a whole payload that still fail, one by one
        quarantine.put(
            replace(
                item,
                item=failure.item,
                reason=failure.reason,
                problems=failure.problems,
                quarantined_at=clock(),
                attempts=1,
            )
        )
    quarantine.remove(item.id)
    reason = result.failures[0].reason if result.failures else None
    if events:
        return ReplayedItem(item, ReplayVerdict.REPLAYED, len(events), reason)
    return ReplayedItem(item, ReplayVerdict.FAILED if reason else ReplayVerdict.SKIPPED, 0, reason)


def _still_failing(
    item: QuarantinedItem,
    quarantine: QuarantineStore,
    dry_run: bool,
    clock: Callable[[], float],
    reason: str,
    problems: tuple[str, ...] = (),
) -> ReplayedItem:
    if not dry_run:  # kept, with today's reason
        quarantine.put(replace(item, reason=reason, problems=problems, quarantined_at=clock()))
    return ReplayedItem(item, ReplayVerdict.FAILED, reason=reason)


__all__ = ["ReplayReport", "ReplayVerdict", "ReplayedItem", "replay_quarantine"]
