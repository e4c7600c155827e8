"""Shadow mode: the bus connector renders what it would send, diffs it against the direct
path's payload, and keeps the result; ``martech-bus shadow report`` sums it up.

``shadow_store()`` opens the store ``MARTECH_BUS_SHADOW`` names (default: SQLite
under the data directory). Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.shadow.diff import FieldDifference, diff_payloads
    from martech_bus.shadow.report import ShadowReport, shadow_report
    from martech_bus.shadow.select import shadow_store
    from martech_bus.shadow.store import MemoryShadowStore, ShadowRecord, ShadowStore

_LAZY = {
    "FieldDifference": "martech_bus.shadow.diff",
    "diff_payloads": "martech_bus.shadow.diff",
    "ShadowReport": "martech_bus.shadow.report",
    "shadow_report": "martech_bus.shadow.report",
    "shadow_store": "martech_bus.shadow.select",
    "MemoryShadowStore": "martech_bus.shadow.store",
    "ShadowRecord": "martech_bus.shadow.store",
    "ShadowStore": "martech_bus.shadow.store",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "FieldDifference",
    "MemoryShadowStore",
    "ShadowRecord",
    "ShadowReport",
    "ShadowStore",
    "diff_payloads",
    "shadow_report",
    "shadow_store",
]
