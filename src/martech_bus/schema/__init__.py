"""Canonical schemas: Avro parsing, validation, codec, registry and compatibility.

Names are loaded lazily (``martech_bus.schema.check_compatibility`` imports
only the compatibility module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from martech_bus.schema.compat import (
        CompatibilityMode,
        CompatibilityResult,
        check_compatibility,
    )
    from martech_bus.schema.registry import SchemaRegistry

_LAZY = {
    "check_compatibility": "martech_bus.schema.compat",
    "CompatibilityMode": "martech_bus.schema.compat",
    "CompatibilityResult": "martech_bus.schema.compat",
    "SchemaRegistry": "martech_bus.schema.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'martech_bus.schema' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["CompatibilityMode", "CompatibilityResult", "SchemaRegistry", "check_compatibility"]
