"""Observability: structured logs with one redaction choke point, metrics, exporters, alerts.

Stdlib only: safe to import in a Lambda cold start. The pipeline's entry points
call ``configure_logging`` once, ``log_event_result`` and
``Metrics.record_results`` per call; probes (``gauges``) measure the stores at
each export. An ``EmfPublisher`` (Lambda), prometheus-client through
``SnapshotCollector`` (the gateway's and the connector's ``/metrics``) and, when
installed and enabled, OpenTelemetry (``otel``) export the metrics.

Names are loaded lazily: a Lambda handler needs metrics, logs and EMF, never
alerts or the exporters (prometheus-client and opentelemetry are imported on
first use only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.observability.alerts import (
        DEFAULT_ALERTS,
        Alert,
        Comparison,
        FiredAlert,
        evaluate,
        load_alerts,
        prometheus_rules,
    )
    from martech_bus.observability.emf import EmfPublisher, to_emf
    from martech_bus.observability.logs import (
        JsonFormatter,
        RedactingFilter,
        Redactor,
        configure_logging,
        log_event_result,
        remember_secrets,
    )
    from martech_bus.observability.metrics import (
        Metrics,
        MetricSpec,
        MetricsSnapshot,
        merge_snapshots,
    )
    from martech_bus.observability.pii import PiiFields
    from martech_bus.observability.prometheus import SnapshotCollector, to_prometheus

_ALERTS = "martech_bus.observability.alerts"
_EMF = "martech_bus.observability.emf"
_LOGS = "martech_bus.observability.logs"
_METRICS = "martech_bus.observability.metrics"
_PROMETHEUS = "martech_bus.observability.prometheus"
_LAZY = {
    "DEFAULT_ALERTS": _ALERTS,
    "Alert": _ALERTS,
    "Comparison": _ALERTS,
    "FiredAlert": _ALERTS,
    "evaluate": _ALERTS,
    "load_alerts": _ALERTS,
    "prometheus_rules": _ALERTS,
    "EmfPublisher": _EMF,
    "to_emf": _EMF,
    "JsonFormatter": _LOGS,
    "RedactingFilter": _LOGS,
    "Redactor": _LOGS,
    "configure_logging": _LOGS,
    "log_event_result": _LOGS,
    "remember_secrets": _LOGS,
    "Metrics": _METRICS,
    "MetricSpec": _METRICS,
    "MetricsSnapshot": _METRICS,
    "merge_snapshots": _METRICS,
    "PiiFields": "martech_bus.observability.pii",
    "SnapshotCollector": _PROMETHEUS,
    "to_prometheus": _PROMETHEUS,
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "DEFAULT_ALERTS",
    "Alert",
    "Comparison",
    "EmfPublisher",
    "FiredAlert",
    "JsonFormatter",
    "MetricSpec",
    "Metrics",
    "MetricsSnapshot",
    "PiiFields",
    "RedactingFilter",
    "Redactor",
    "SnapshotCollector",
    "configure_logging",
    "evaluate",
    "load_alerts",
    "log_event_result",
    "merge_snapshots",
    "prometheus_rules",
    "remember_secrets",
    "to_emf",
    "to_prometheus",
]
