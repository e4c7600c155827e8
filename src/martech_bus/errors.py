"""The error hierarchy: one root, retry markers, and one error per pipeline stage.

Every error can say *where* it is about (file, line, column, field path, schema
version, event id); ``str(error)`` renders those so a user never has to guess.
``TransientError`` / ``TerminalError`` are markers the retry machinery reads:
a transient failure may succeed if tried again, a terminal one never will.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: any subset of file, line, column, path, version and event id."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None
    schema: str | None = None
    version: int | None = None
    event_id: str | None = None

    def render(self) -> str:
        parts: list[str] = []
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where)
        if self.schema is not None:
            parts.append(
                f"schema {self.schema}" + (f" v{self.version}" if self.version is not None else "")
            )
        elif self.version is not None:
            parts.append(f"version {self.version}")
        if self.event_id is not None:
            parts.append(f"event {self.event_id}")
        if self.path:
            parts.append(f"at {self.path}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong, with where it is."""

    message: str
    location: Location = field(default_factory=Location)

    def __str__(self) -> str:
        where = self.location.render()
        return f"{where}: {self.message}" if where else self.message


class MartechBusError(Exception):
    """Root of every error martech-bus raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.message = message
        self.location = location or Location()
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.location.render()
        text = f"{where}: {self.message}" if where else self.message
        if self.problems:
            text += "".join(f"\n  - {p}" for p in self.problems)
        return text


class TransientError(MartechBusError):
    """Marker: trying again later may succeed (timeouts, 429, 5xx, broker down)."""


class TerminalError(MartechBusError):
    """Marker: trying again will fail the same way (bad input, 4xx, schema mismatch)."""


class ConfigError(TerminalError, ValueError):
    """A setting or configuration file is missing or wrong."""


class SchemaError(TerminalError, ValueError):
    """An Avro schema or the catalogue is invalid, or a schema change is refused."""


class UnknownSchemaError(SchemaError, LookupError):
    """An event type, subject, version or schema id the registry does not hold."""


class IncompatibleSchemaError(SchemaError):
    """A new schema version breaks its subject's compatibility mode."""


class ValidationError(TerminalError, ValueError):
    """An event does not conform to its canonical schema."""


class CodecError(TerminalError, ValueError):
    """Bytes that cannot be decoded (bad magic byte, unknown schema id, truncated body)."""


class MappingError(TerminalError, ValueError):
    """A mapping file is invalid, or applying it to an event failed."""


class DeliveryError(MartechBusError):
    """Delivering to a vendor or the bus failed; see the Transient/Terminal subclasses."""


class TransientDeliveryError(DeliveryError, TransientError):
    """A delivery failure worth retrying."""


class TerminalDeliveryError(DeliveryError, TerminalError):
    """A delivery failure that retrying will not fix."""


def is_transient(error: BaseException) -> bool:
    """True when ``error`` is marked as worth retrying."""
    return isinstance(error, TransientError)


__all__ = [
    "CodecError",
    "ConfigError",
    "DeliveryError",
    "IncompatibleSchemaError",
    "Location",
    "MappingError",
    "MartechBusError",
    "Problem",
    "SchemaError",
    "TerminalDeliveryError",
    "TerminalError",
    "TransientDeliveryError",
    "TransientError",
    "UnknownSchemaError",
    "ValidationError",
    "is_transient",
]
