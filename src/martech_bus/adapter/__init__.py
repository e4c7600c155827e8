"""Vendor adapters: the manifest (``adapter.yaml``), pinned mappings and request-body building.

``resolve_adapter("meta_capi").render(event)`` is the exact body the vendor would
receive. Names load lazily; see docs/adapters.md for the manifest format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.adapter.loader import (
        Adapter,
        Fixture,
        find_adapters,
        load_adapter,
        resolve_adapter,
    )
    from martech_bus.adapter.manifest import (
        Auth,
        Batch,
        Consent,
        Endpoint,
        ErrorIn200,
        Manifest,
        Owner,
        PartialFailure,
        RateLimit,
        ResolvedRequest,
        SecretReference,
        Signing,
    )

_LAZY = {
    "Adapter": "martech_bus.adapter.loader",
    "Fixture": "martech_bus.adapter.loader",
    "find_adapters": "martech_bus.adapter.loader",
    "load_adapter": "martech_bus.adapter.loader",
    "resolve_adapter": "martech_bus.adapter.loader",
    "Auth": "martech_bus.adapter.manifest",
    "Batch": "martech_bus.adapter.manifest",
    "Consent": "martech_bus.adapter.manifest",
    "Endpoint": "martech_bus.adapter.manifest",
    "ErrorIn200": "martech_bus.adapter.manifest",
    "Manifest": "martech_bus.adapter.manifest",
    "Owner": "martech_bus.adapter.manifest",
    "PartialFailure": "martech_bus.adapter.manifest",
    "RateLimit": "martech_bus.adapter.manifest",
    "ResolvedRequest": "martech_bus.adapter.manifest",
    "SecretReference": "martech_bus.adapter.manifest",
    "Signing": "martech_bus.adapter.manifest",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "Adapter",
    "Auth",
    "Batch",
    "Consent",
    "Endpoint",
    "ErrorIn200",
    "Fixture",
    "Manifest",
    "Owner",
    "PartialFailure",
    "RateLimit",
    "ResolvedRequest",
    "SecretReference",
    "Signing",
    "find_adapters",
    "load_adapter",
    "resolve_adapter",
]
