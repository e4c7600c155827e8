"""Helpers for the delivery tests: a fake clock whose sleep only moves time, and deliveries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from martech_bus.sinks.base import Delivery
from martech_bus.testing.clock import START, FakeTime

__all__ = ["START", "FakeTime", "delivery", "upper_bound"]


def upper_bound(low: float, high: float) -> float:
    """An rng that always draws the top of the jitter range: makes sleeps predictable."""
    return high


def delivery(number: int, vendor: str = "acme", **payload: Any) -> Delivery:
    body = payload or {"event": "order_completed", "order_id": f"o-{number}"}
    return Delivery(
        event_id=f"evt-{number}",
        vendor=vendor,
        mapping_version=3,
        payload=body,
        event={"event_id": f"evt-{number}"},
    )


def deliveries(count: int, **payload: Any) -> list[Delivery]:
    return [delivery(n, **payload) for n in range(count)]


def request_json(log_entry: Any) -> Any:
    """The JSON body of one request from ``httpserver.log``."""
    request, _response = log_entry
    return json.loads(request.get_data())


Rng = Callable[[float, float], float]
