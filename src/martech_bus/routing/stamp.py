"""Route stamps: the modes decided at publish time, carried to the bus connector in headers.

The entry point decides each integration's mode when it publishes an event; the
connector must act on *that* decision, not on the flag as it reads it later. A
flip between the two would otherwise drop an event (published in ``bus`` mode,
read after a flip back to ``direct``: nobody would deliver it) or send it twice.

Two kinds of header, both UTF-8:

| header | value |
| --- | --- |
| ``martech_routes`` | ``vendor=mode`` pairs, comma-separated, for every integration the event was published for |
| ``martech_shadow.<vendor>`` | JSON: what the direct path made of the event (``{"payload": ..., "mapping_version": N}`` or ``{"skipped": reason}``), for the connector's diff |

A record without ``martech_routes`` was published outside the migration
toggles (``martech-bus bus publish``, another producer): the bus is its only
path, so the connector delivers it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from martech_bus.routing.modes import RouteMode

ROUTES_HEADER: Final = "martech_routes"
SHADOW_PREFIX: Final = "martech_shadow."


@dataclass(frozen=True, slots=True)
class DirectResult:
    """What the direct path made of an event for one vendor: a payload, or why it skipped."""

    payload: dict[str, Any] | None = None
    mapping_version: int | None = None
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"skipped": reason}`` or ``{"payload": ..., "mapping_version": N}``."""
        if self.skipped is not None:
            return {"skipped": self.skipped}
        return {"payload": self.payload, "mapping_version": self.mapping_version}

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> DirectResult:
        if value.get("skipped") is not None:
            return cls(skipped=str(value["skipped"]))
        payload, version = value.get("payload"), value.get("mapping_version")
        return cls(
            payload if isinstance(payload, dict) else None,
            version if isinstance(version, int) else None,
        )

    def as_json(self) -> bytes:
        return json.dumps(
            self.as_dict(), separators=(",", ":"), sort_keys=True, default=str
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> DirectResult:
        try:
            value = json.loads(raw)
        except ValueError:
            return cls(skipped="the direct result in the header is not JSON")
        if not isinstance(value, dict):
            return cls(skipped="the direct result in the header is not an object")
        return cls.from_dict(value)


@dataclass(frozen=True, slots=True)
class RouteStamp:
    """The modes an event was published under, per vendor, and the direct results to diff."""

    modes: Mapping[str, RouteMode]
    direct: Mapping[str, DirectResult]

    def headers(self) -> list[tuple[str, bytes]]:
        """The record headers carrying this stamp."""
        routes = ",".join(f"{vendor}={mode.value}" for vendor, mode in sorted(self.modes.items()))
        out = [(ROUTES_HEADER, routes.encode())]
        out += [(SHADOW_PREFIX + v, result.as_json()) for v, result in sorted(self.direct.items())]
        return out


@dataclass(frozen=True, slots=True)
class ConnectorRoute:
    """What the connector for one vendor does with one record."""

    mode: RouteMode | None  # None: the record carries no stamp (the bus is its only path)
    stamped: bool
    direct: DirectResult | None = None

    @property
    def delivers(self) -> bool:
        return not self.stamped or self.mode is RouteMode.BUS

    @property
    def shadows(self) -> bool:
        return self.mode is RouteMode.SHADOW

    def skip_reason(self, vendor: str) -> str:
        if self.mode is None:
            return f"not published for {vendor}: its events go direct"
        return f"{vendor} is in {self.mode.value} mode: the direct path delivers"


def read_stamp(headers: Iterable[tuple[str, bytes | None]] | None, vendor: str) -> ConnectorRoute:
    """``vendor``'s route from a record's headers (see the module docstring)."""
    routes: bytes | None = None
    direct: bytes | None = None
    shadow_name = SHADOW_PREFIX + vendor
    for name, value in headers or ():
        if name == ROUTES_HEADER:
            routes = value or b""
        elif name == shadow_name:
            direct = value
    if routes is None:
        return ConnectorRoute(None, stamped=False)
    mode: RouteMode | None = None
    for pair in routes.decode("utf-8", "replace").split(","):
        name, _, mode_name = pair.partition("=")
        if name.strip() == vendor:
            try:
                mode = RouteMode(mode_name.strip())
            except ValueError:
                mode = None  # an unknown mode from a newer publisher: do not deliver twice
            break
    return ConnectorRoute(
        mode, stamped=True, direct=DirectResult.from_json(direct) if direct is not None else None
    )


__all__ = [
    "ROUTES_HEADER",
    "SHADOW_PREFIX",
    "ConnectorRoute",
    "DirectResult",
    "RouteStamp",
    "read_stamp",
]
