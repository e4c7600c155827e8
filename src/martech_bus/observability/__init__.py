"""Observability: structured logs with one redaction choke point, metrics, exporters, alerts.

Stdlib only: safe to import in a Lambda cold start. The pipeline's entry points
call ``configure_logging`` once, ``log_event_result`` and
``Metrics.record_results`` per call, and an ``EmfPublisher`` (Lambda) or
``to_prometheus`` (gateway) exports the metrics.
"""

from __future__ import annotations

from martech_bus.observability.alerts import DEFAULT_ALERTS, Alert, Comparison, FiredAlert, evaluate
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
