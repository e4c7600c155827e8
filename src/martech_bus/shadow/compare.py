"""One shadow comparison: the direct path's result against what the bus connector rendered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from martech_bus.routing.stamp import DirectResult
from martech_bus.shadow.diff import diff_payloads
from martech_bus.shadow.store import ShadowRecord
from martech_bus.sinks.base import Delivery, Outcome


def compare(
    integration: str,
    event: Mapping[str, Any],
    direct: DirectResult | None,
    rendered: Delivery | Outcome,
    now: float,
) -> ShadowRecord:
    """The record for ``event``: both sides sent the same payload, or skipped alike, or not.

    ``direct`` None means the record carried no direct result (published by an
    older publisher, or the header was stripped): it counts as a mismatch.
    """
    event_id, event_type = str(event.get("event_id")), str(event.get("event_type"))
    extra = {"source": event.get("source")} if isinstance(event.get("source"), str) else {}
    bus_payload = None if isinstance(rendered, Outcome) else jsonable(rendered.payload)
    bus_version = None if isinstance(rendered, Outcome) else rendered.mapping_version
    bus_skipped = (
        (rendered.reason or rendered.kind.value) if isinstance(rendered, Outcome) else None
    )
    if direct is None:
        return ShadowRecord(
            integration,
            event_id,
            event_type,
            False,
            now,
            direct_skipped="no direct result was published with the event",
            bus_skipped=bus_skipped,
            bus_mapping_version=bus_version,
            extra=extra,
        )
    if direct.skipped is not None or bus_payload is None:
        # Skipping on both sides for any reason is a match: neither sends.
        matched = direct.skipped is not None and bus_payload is None
        return ShadowRecord(
            integration,
            event_id,
            event_type,
            matched,
            now,
            direct_skipped=direct.skipped,
            bus_skipped=bus_skipped,
            direct_mapping_version=direct.mapping_version,
            bus_mapping_version=bus_version,
            extra=extra,
        )
    differences = tuple(diff_payloads(direct.payload, bus_payload))
    return ShadowRecord(
        integration,
        event_id,
        event_type,
        not differences,
        now,
        differences,
        direct_mapping_version=direct.mapping_version,
        bus_mapping_version=bus_version,
        extra=extra,
    )


def jsonable(payload: Mapping[str, Any]) -> Any:
    """The payload as the direct path's header carried it: through JSON (dates as text)."""
    import json

    return json.loads(json.dumps(payload, default=str))


__all__ = ["compare", "jsonable"]
