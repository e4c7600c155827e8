"""Route modes: how one integration's events reach its vendor during a migration."""

from __future__ import annotations

import enum
from typing import Final

from martech_bus.errors import ConfigError, Location


class RouteMode(enum.StrEnum):
    """Where an integration's events go; the members are in migration order."""

    DIRECT = "direct"  # the adapter or gateway delivers to the vendor (the sprint path)
    DUAL = "dual"  # direct delivery, and the event is published to the bus as well
    SHADOW = "shadow"  # dual, and the bus connector builds the payload and diffs it, unsent
    BUS = "bus"  # published only; the bus connector delivers (the marathon path)


MODES: Final[tuple[str, ...]] = tuple(mode.value for mode in RouteMode)


def parse_mode(text: object, *, location: Location | None = None) -> RouteMode:
    """The mode ``text`` names, or a ConfigError with a did-you-mean."""
    if isinstance(text, str) and text in MODES:
        return RouteMode(text)
    from martech_bus.mapping.hints import did_you_mean  # error path only

    hint = did_you_mean(text, MODES) if isinstance(text, str) else ""
    raise ConfigError(f"unknown mode {text!r}{hint} (modes: {', '.join(MODES)})", location=location)
