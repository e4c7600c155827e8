"""The Integration Debt Score: points per finding, summed per integration and capped at 100.

The formula (docs/governance.md has the reasoning):

| finding | points |
|---|---|
| route not on the bus | ``15 x (1 - progress)``: direct 15, dual 10, shadow 5, bus 0; a rollout
  from A to B at p % has progress ``A + (B - A) x p / 100`` |
| expired (manifest, source or flag) | ``25 + 5`` per full 30 days past, at most 40 |
| expires within ``warn_days`` | 10 |
| transitional flag without an end date | 5 |
| rollout stuck (last flip older than ``stuck_days``) | 15 |
| mapping without a contract fixture | 8 each |
| mapping without a "why" comment | 2 each |
| integration missing from its docs page | 5 |
| backlog of n items, oldest d days | ``min(25, 5 x (1 + floor(log10 n)) + 5 x band(d))``,
  band 0 under a day, 1 under a week, 2 after |
| flag without an owner, no runbook, no migration plan (off the bus) | 5 each |
| no governance block, cadence contradicting its scores | 10 each |

The overall score is the mean of the integrations' scores.
"""

from __future__ import annotations

import math
from typing import Final

from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode

ROUTE_MAX: Final = 15
EXPIRED_BASE: Final = 25
EXPIRED_PER_MONTH: Final = 5
EXPIRED_MAX: Final = 40
EXPIRING_SOON: Final = 10
NO_END_DATE: Final = 5
STUCK_ROLLOUT: Final = 15
MAPPING_WITHOUT_FIXTURE: Final = 8
MAPPING_WITHOUT_DOCS: Final = 2
UNDOCUMENTED: Final = 5
BACKLOG_STEP: Final = 5
BACKLOG_MAX: Final = 25
NO_OWNER: Final = 5
NO_RUNBOOK: Final = 5
NO_MIGRATION_PLAN: Final = 5
NO_GOVERNANCE: Final = 10
CADENCE_CONTRADICTED: Final = 10

#: How far along the migration each mode is: 0 (sprint path) to 1 (on the bus).
PROGRESS: Final = {
    RouteMode.DIRECT: 0.0,
    RouteMode.DUAL: 1 / 3,
    RouteMode.SHADOW: 2 / 3,
    RouteMode.BUS: 1.0,
}


def progress(setting: Setting | None) -> float:
    """0 (direct, or no flag) to 1 (everyone on the bus); a rollout is in between by its percent."""
    if setting is None:
        return 0.0
    start = PROGRESS[setting.mode]
    if setting.to is None:
        return start
    return start + (PROGRESS[setting.to] - start) * setting.percent / 100


def route_points(setting: Setting | None) -> int:
    """Points for the part of the traffic not yet on the bus."""
    return round(ROUTE_MAX * (1 - progress(setting)))


def expired_points(days_past: int) -> int:
    """Points for a stop-gap ``days_past`` days past its end date (>= 1)."""
    return min(EXPIRED_MAX, EXPIRED_BASE + EXPIRED_PER_MONTH * (days_past // 30))


def backlog_points(count: int, oldest_days: float | None) -> int:
    """Points for ``count`` items waiting, the oldest for ``oldest_days``: bigger and older costs more."""
    if count <= 0:
        return 0
    age = oldest_days or 0.0
    band = 0 if age < 1 else 1 if age < 7 else 2
    size = 1 + math.floor(math.log10(count))
    return min(BACKLOG_MAX, BACKLOG_STEP * size + BACKLOG_STEP * band)


__all__ = [
    "backlog_points",
    "expired_points",
    "progress",
    "route_points",
]
