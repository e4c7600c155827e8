"""Sticky percentage rollout: a key's bucket depends only on (flag, salt, key).

``bucket`` hashes ``"{flag}.{salt}.{key}"`` with SHA-256 and reads the first 8
bytes as a big-endian integer scaled to [0, 1). A key is in a rollout at ``p``
percent when its bucket is below ``p / 100``, so raising the percentage only
adds keys: nobody who moved goes back, and a user stays on one path.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, Final

_SCALE: Final = 2.0**64
# The largest float below 1: integers near 2**64 round up to 2**64 when made floats.
_BELOW_ONE: Final = math.nextafter(1.0, 0.0)
#: Envelope fields that identify who an event is about, most stable first.
KEY_FIELDS: Final = ("user_id", "anonymous_id", "event_id")


def bucket(flag: str, salt: str, key: str) -> float:
    """Where ``key`` falls in [0, 1) for ``flag`` and ``salt``; the same on every machine."""
    digest = hashlib.sha256(f"{flag}.{salt}.{key}".encode()).digest()
    return min(int.from_bytes(digest[:8], "big") / _SCALE, _BELOW_ONE)


def in_rollout(flag: str, salt: str, key: str, percent: float) -> bool:
    """True when ``key`` is among the first ``percent`` % of keys for ``flag`` and ``salt``."""
    if percent >= 100:
        return True
    return percent > 0 and bucket(flag, salt, key) < percent / 100


def routing_key(event: Mapping[str, Any]) -> str | None:
    """The key a rollout sticks to: ``user_id``, else ``anonymous_id``, else ``event_id``."""
    for field in KEY_FIELDS:
        value = event.get(field)
        if value is not None and value != "":
            return str(value)
    return None
