"""Route decisions: what the entry point and the bus connector do with one event.

| mode | deliver_direct | publish | connector_delivers | connector_shadow |
|---|---|---|---|---|
| direct | yes | no | no | no |
| dual | yes | yes | no | no |
| shadow | yes | yes | no | yes (build the payload, diff it, never send) |
| bus | no | yes | yes | no |

Exactly one path sends to the vendor in every mode, so a flip never drops or
doubles a delivery by itself (the idempotency store covers a flip that happens
while an event is in flight on both paths).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from martech_bus.routing.flags import Flag
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.rollout import in_rollout, routing_key

# (deliver_direct, publish, connector_delivers, connector_shadow) per mode.
_ACTIONS: dict[RouteMode, tuple[bool, bool, bool, bool]] = {
    RouteMode.DIRECT: (True, False, False, False),
    RouteMode.DUAL: (True, True, False, False),
    RouteMode.SHADOW: (True, True, False, True),
    RouteMode.BUS: (False, True, True, False),
}


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What to do with one event for one integration, and which flag said so."""

    deliver_direct: bool
    publish: bool
    connector_delivers: bool
    connector_shadow: bool
    mode: RouteMode
    flag_version: int  # 0 when no flag exists (the default: direct)
    in_rollout: bool  # the key fell inside the rollout percentage (False without a rollout)
    integration: str | None = None  # the flag that decided; None for the default

    @classmethod
    def for_mode(
        cls,
        mode: RouteMode,
        *,
        flag_version: int = 0,
        in_rollout: bool = False,
        integration: str | None = None,
    ) -> RouteDecision:
        """The decision for ``mode``; a connector rebuilds it from the mode stamped at publish time."""
        direct, publish, delivers, shadow = _ACTIONS[mode]
        return cls(direct, publish, delivers, shadow, mode, flag_version, in_rollout, integration)


def decide(flag: Flag | None, event: Mapping[str, Any]) -> RouteDecision:
    """The decision for ``event`` under ``flag`` (no flag: direct, the sprint path).

    In a rollout the event's key (user, else anonymous id, else event id) picks the
    side; an event without any key stays on the ``from`` side.
    """
    if flag is None:
        return RouteDecision.for_mode(RouteMode.DIRECT)
    setting = flag.setting
    moved = False
    if setting.to is not None:
        key = routing_key(event)
        moved = key is not None and in_rollout(flag.integration, setting.salt, key, setting.percent)
    return RouteDecision.for_mode(
        setting.to if moved and setting.to is not None else setting.mode,
        flag_version=flag.version,
        in_rollout=moved,
        integration=flag.integration,
    )
