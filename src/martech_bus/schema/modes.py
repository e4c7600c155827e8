"""Registry compatibility modes: a light module, so loading a catalogue does not import the checker.

``martech_bus.schema.compat`` (which needs fastavro) re-exports ``CompatibilityMode``;
``SchemaRegistry.load`` only needs to parse a subject's mode name.
"""

from __future__ import annotations

import enum

from martech_bus.errors import SchemaError


class CompatibilityMode(enum.StrEnum):
    """Registry compatibility modes (Confluent Schema Registry / Karapace)."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @classmethod
    def parse(cls, value: str) -> CompatibilityMode:
        """The mode named by ``value`` (case-insensitive); SchemaError when there is none."""
        try:
            return cls(str(value).strip().upper())
        except ValueError:
            valid = ", ".join(mode.value for mode in cls)
            raise SchemaError(
                f"unknown compatibility mode {value!r}; valid modes: {valid}"
            ) from None


__all__ = ["CompatibilityMode"]
