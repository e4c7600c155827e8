"""Shadow results: one record per (integration, event), and the stores that keep them.

A record says whether the bus connector's payload matched the direct path's,
and lists the differing fields. Values that may be personal data or secrets are
masked before they are stored (a PII or secret key name, an e-mail address or
phone number in the text, a SHA-256 hex digest — how vendors take hashed PII):
the report shows *that* a hashed email differs, never the value.
Recording the same event again replaces its record (the connector may read a
record twice).
"""

from __future__ import annotations

import builtins
import functools
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from martech_bus.shadow.diff import FieldDifference

if TYPE_CHECKING:
    from martech_bus.observability.pii import PiiFields

MASK: Final = "***"
#: A SHA-256 in hex: vendors take PII hashed, and a hash is still pseudonymous personal data.
_HASHED: Final = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """What the shadow comparison found for one event on one integration."""

    integration: str
    event_id: str
    event_type: str
    matched: bool
    recorded_at: float  # epoch seconds
    differences: tuple[FieldDifference, ...] = ()
    #: Why one side sent nothing (consent, unmapped event), when one did not.
    direct_skipped: str | None = None
    bus_skipped: str | None = None
    direct_mapping_version: int | None = None
    bus_mapping_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def masked(self) -> ShadowRecord:
        """This record with sensitive values replaced by ``***``."""
        from dataclasses import replace

        return replace(self, differences=tuple(_mask(d) for d in self.differences))


def _mask(difference: FieldDifference) -> FieldDifference:
    from dataclasses import replace

    from martech_bus.redaction import is_sensitive

    parts = [part.split("[", 1)[0] for part in difference.path.split(".")]
    leaf, parent = parts[-1], (parts[-2] if len(parts) > 1 else None)
    pii = _default_pii()
    by_name = is_sensitive(leaf) or pii.kind(leaf, parent) is not None

    def hide(value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return MASK if by_name and value is not None else value
        text = value if isinstance(value, str) else repr(value)
        if by_name or pii.text(text) != text or _HASHED.fullmatch(text):
            return MASK
        return value

    return replace(difference, direct=hide(difference.direct), bus=hide(difference.bus))


@functools.cache
def _default_pii() -> PiiFields:
    """Built once: its text patterns are compiled on first use and kept."""
    from martech_bus.observability.pii import PiiFields

    return PiiFields.default()


class ShadowStore(ABC):
    """Keeps shadow records; ``record`` masks them first."""

    def record(self, record: ShadowRecord) -> None:
        self._put(record.masked())

    @abstractmethod
    def _put(self, record: ShadowRecord) -> None: ...

    @abstractmethod
    def list(self, integration: str, *, since: float | None = None) -> list[ShadowRecord]:
        """``integration``'s records, oldest first (optionally those recorded since ``since``)."""

    @abstractmethod
    def integrations(self) -> builtins.list[str]:
        """Every integration with at least one record, sorted."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release what the store holds."""


class MemoryShadowStore(ShadowStore):
    """In-process records: for tests and users' own tests."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], ShadowRecord] = {}
        self._lock = threading.Lock()

    def _put(self, record: ShadowRecord) -> None:
        with self._lock:
            self._records.pop((record.integration, record.event_id), None)
            self._records[(record.integration, record.event_id)] = record

    def list(self, integration: str, *, since: float | None = None) -> list[ShadowRecord]:
        with self._lock:
            found: Sequence[ShadowRecord] = [
                r
                for r in self._records.values()
                if r.integration == integration and (since is None or r.recorded_at >= since)
            ]
        return sorted(found, key=lambda r: r.recorded_at)

    def integrations(self) -> builtins.list[str]:
        with self._lock:
            return sorted({integration for integration, _ in self._records})


__all__ = ["MASK", "MemoryShadowStore", "ShadowRecord", "ShadowStore"]
