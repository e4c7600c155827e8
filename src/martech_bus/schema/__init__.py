"""Canonical schemas: Avro parsing, validation, codec, registry and compatibility.

Names are loaded lazily (``martech_bus.schema.check_compatibility`` imports
only the compatibility module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.schema.compat import CompatibilityResult, check_compatibility
    from martech_bus.schema.modes import CompatibilityMode
    from martech_bus.schema.registry import SchemaRegistry

_LAZY = {
    "check_compatibility": "martech_bus.schema.compat",
    "CompatibilityMode": "martech_bus.schema.modes",
    "CompatibilityResult": "martech_bus.schema.compat",
    "SchemaRegistry": "martech_bus.schema.registry",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = ["CompatibilityMode", "CompatibilityResult", "SchemaRegistry", "check_compatibility"]
