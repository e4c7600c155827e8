"""martech-bus: sprint vendor integrations without debt, then the marathon onto a Kafka bus.

The public API is imported lazily so ``import martech_bus`` stays cheap in a
Lambda cold start; heavy modules load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr
from martech_bus._version import __version__
from martech_bus.errors import (
    CodecError,
    ConfigError,
    DeliveryError,
    IncompatibleSchemaError,
    MappingError,
    MartechBusError,
    SchemaError,
    TerminalError,
    TransientError,
    UnknownSchemaError,
    ValidationError,
)

if TYPE_CHECKING:
    from martech_bus.schema.compat import CompatibilityResult, check_compatibility
    from martech_bus.schema.modes import CompatibilityMode
    from martech_bus.schema.registry import SchemaRegistry

_LAZY = {
    "SchemaRegistry": "martech_bus.schema.registry",
    "check_compatibility": "martech_bus.schema.compat",
    "CompatibilityMode": "martech_bus.schema.modes",
    "CompatibilityResult": "martech_bus.schema.compat",
}


__getattr__ = lazy_getattr(__name__, _LAZY)


__all__ = [
    "CodecError",
    "CompatibilityMode",
    "CompatibilityResult",
    "ConfigError",
    "DeliveryError",
    "IncompatibleSchemaError",
    "MappingError",
    "MartechBusError",
    "SchemaError",
    "SchemaRegistry",
    "TerminalError",
    "TransientError",
    "UnknownSchemaError",
    "ValidationError",
    "__version__",
    "check_compatibility",
]
