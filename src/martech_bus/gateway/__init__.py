"""The buffered gateway: accept canonical events and vendor webhooks, buffer them, drain them.

``POST /v1/events`` takes canonical events, ``POST /v1/sources/<name>`` a vendor's
own payload (checked against its signature); either is answered 202 only once
it is durably in the buffer. A ``Drainer`` then normalizes vendor payloads with
their inbound mappings, hands the canonical events to the pipeline and acks.
See docs/gateway.md. Names load lazily: the Lambda entry point
(``martech_bus.gateway.lambda_handler``) never imports Starlette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.gateway.app import create_app
    from martech_bus.gateway.auth import BearerAuth, check_binding
    from martech_bus.gateway.drainer import Drainer, DrainReport, exponential_backoff
    from martech_bus.gateway.expiry import ExpiryMonitor
    from martech_bus.gateway.ingest import Gateway, Reply, RequestHead
    from martech_bus.gateway.lambda_handler import gateway_handler
    from martech_bus.gateway.metrics import gateway_metrics
    from martech_bus.gateway.normalizer import Failure, Normalized, Normalizer
    from martech_bus.gateway.quarantine import (
        MemoryQuarantineStore,
        QuarantinedItem,
        QuarantineStore,
        SqliteQuarantineStore,
        quarantine_store,
    )
    from martech_bus.gateway.replay import ReplayReport, ReplayVerdict, replay_quarantine
    from martech_bus.gateway.settings import GatewaySettings
    from martech_bus.gateway.signatures import BodyHmac, SignatureError, Timestamped
    from martech_bus.gateway.sources import InboundSource, find_sources, load_source

_LAZY = {
    "create_app": "martech_bus.gateway.app",
    "BearerAuth": "martech_bus.gateway.auth",
    "check_binding": "martech_bus.gateway.auth",
    "DrainReport": "martech_bus.gateway.drainer",
    "Drainer": "martech_bus.gateway.drainer",
    "exponential_backoff": "martech_bus.gateway.drainer",
    "ExpiryMonitor": "martech_bus.gateway.expiry",
    "Gateway": "martech_bus.gateway.ingest",
    "Reply": "martech_bus.gateway.ingest",
    "RequestHead": "martech_bus.gateway.ingest",
    "gateway_handler": "martech_bus.gateway.lambda_handler",
    "gateway_metrics": "martech_bus.gateway.metrics",
    "Failure": "martech_bus.gateway.normalizer",
    "Normalized": "martech_bus.gateway.normalizer",
    "Normalizer": "martech_bus.gateway.normalizer",
    "MemoryQuarantineStore": "martech_bus.gateway.quarantine",
    "QuarantinedItem": "martech_bus.gateway.quarantine",
    "QuarantineStore": "martech_bus.gateway.quarantine",
    "SqliteQuarantineStore": "martech_bus.gateway.quarantine",
    "quarantine_store": "martech_bus.gateway.quarantine",
    "ReplayReport": "martech_bus.gateway.replay",
    "ReplayVerdict": "martech_bus.gateway.replay",
    "replay_quarantine": "martech_bus.gateway.replay",
    "GatewaySettings": "martech_bus.gateway.settings",
    "BodyHmac": "martech_bus.gateway.signatures",
    "SignatureError": "martech_bus.gateway.signatures",
    "Timestamped": "martech_bus.gateway.signatures",
    "InboundSource": "martech_bus.gateway.sources",
    "find_sources": "martech_bus.gateway.sources",
    "load_source": "martech_bus.gateway.sources",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "BearerAuth",
    "BodyHmac",
    "DrainReport",
    "Drainer",
    "ExpiryMonitor",
    "Failure",
    "Gateway",
    "GatewaySettings",
    "InboundSource",
    "MemoryQuarantineStore",
    "Normalized",
    "Normalizer",
    "QuarantineStore",
    "QuarantinedItem",
    "ReplayReport",
    "ReplayVerdict",
    "Reply",
    "RequestHead",
    "SignatureError",
    "SqliteQuarantineStore",
    "Timestamped",
    "check_binding",
    "create_app",
    "exponential_backoff",
    "find_sources",
    "gateway_handler",
    "gateway_metrics",
    "load_source",
    "quarantine_store",
    "replay_quarantine",
]
