"""Observability: structured logs with one redaction choke point, metrics, exporters, alerts.

Stdlib only: safe to import in a Lambda cold start. The pipeline's entry points
call ``configure_logging`` once, ``log_event_result`` and
``Metrics.record_results`` per call, and an ``EmfPublisher`` (Lambda) or
``to_prometheus`` (gateway) exports the metrics.

Names are loaded lazily: a Lambda handler needs metrics, logs and EMF, never
alerts or the Prometheus exporter.
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
    from martech_bus.observability.metrics import Metrics, MetricSpec, MetricsSnapshot
    from martech_bus.observability.pii import PiiFields
    from martech_bus.observability.prometheus import to_prometheus

_ALERTS = "martech_bus.observability.alerts"
_EMF = "martech_bus.observability.emf"
_LOGS = "martech_bus.observability.logs"
_METRICS = "martech_bus.observability.metrics"
_LAZY = {
    "DEFAULT_ALERTS": _ALERTS,
    "Alert": _ALERTS,
    "Comparison": _ALERTS,
    "FiredAlert": _ALERTS,
    "evaluate": _ALERTS,
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
    "PiiFields": "martech_bus.observability.pii",
    "to_prometheus": "martech_bus.observability.prometheus",
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
    "configure_logging",
    "evaluate",
    "log_event_result",
    "remember_secrets",
    "to_emf",
    "to_prometheus",
]
