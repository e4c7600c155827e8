"""The gateway's metrics, declared next to the pipeline's so one ``Metrics`` serves both.

Every series carries ``integration`` (a ``Metrics`` rule); the gateway's use
``integration="gateway"``. Route labels are ``canonical`` or a declared source
name, never a name taken from a request path, so the label set stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from martech_bus.observability.gauges import STORE_PROBE_INTERVAL
from martech_bus.observability.metrics import (
    SPECS,
    Metrics,
    MetricSpec,
    MetricsSnapshot,
    merge_snapshots,
)

if TYPE_CHECKING:
    from martech_bus.observability.gauges import DeadLetterCounter, QuarantineCounter

INTEGRATION: Final = "gateway"

GATEWAY_SPECS: Final[Mapping[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            "gateway_source_expired",
            "gauge",
            "Count",
            "1 when an inbound source is past its expires_on (it keeps accepting data).",
            ("integration", "source"),
            rollup="max",
        ),
        MetricSpec(
            "gateway_source_days_left",
            "gauge",
            "Count",
            "Days until an inbound source's expires_on; negative once past it.",
            ("integration", "source"),
            rollup="max",
        ),
        MetricSpec(
            "gateway_requests",
            "counter",
            "Count",
            "Gateway requests by route (canonical, a source name or unknown) and HTTP status.",
            ("integration", "route", "status"),
        ),
    )
}


def gateway_metrics() -> Metrics:
    """A registry that knows the pipeline's metrics and the gateway's."""
    return Metrics(specs={**SPECS, **GATEWAY_SPECS})


def merged(snapshots: Sequence[MetricsSnapshot]) -> MetricsSnapshot:
    """One snapshot of several registries (see ``observability.metrics.merge_snapshots``)."""
    return merge_snapshots(snapshots)


def watch_stores(
    metrics: Metrics,
    *,
    dead_letters: DeadLetterCounter | None = None,
    integrations: Iterable[str] = (),
    quarantine: QuarantineCounter | None = None,
    sources: Iterable[str] = (),
    min_interval: float = STORE_PROBE_INTERVAL,
) -> None:
    """Have ``metrics`` measure the dead-letter store and the quarantine at every scrape.

    ``gateway serve`` calls it with the drainer's stores: ``dlq_size`` /
    ``dlq_oldest_age_ms`` per adapter in ``integrations``, ``quarantine_size`` per
    source (items of sources no longer declared under ``integration="gateway"``).
    """
    from martech_bus.observability.gauges import dead_letter_probe, quarantine_probe

    if dead_letters is not None:
        probe = dead_letter_probe(dead_letters, tuple(integrations))
        if probe is not None:
            metrics.add_probe(probe, min_interval=min_interval)
    if quarantine is not None:
        metrics.add_probe(
            quarantine_probe(quarantine, tuple(sources), others=INTEGRATION),
            min_interval=min_interval,
        )


__all__ = [
    "GATEWAY_SPECS",
    "INTEGRATION",
    "STORE_PROBE_INTERVAL",
    "gateway_metrics",
    "merged",
    "watch_stores",
]
