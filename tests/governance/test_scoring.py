"""The debt score formula: each term on its own."""

from __future__ import annotations

import pytest

from martech_bus.governance.scoring import (
    backlog_points,
    expired_points,
    progress,
    route_points,
)
from martech_bus.routing import parse_setting


@pytest.mark.parametrize(
    ("setting", "points"),
    [(None, 15), ("direct", 15), ("dual", 10), ("shadow", 5), ("bus", 0)],
)
def test_route_points_shrink_as_the_mode_nears_the_bus(setting: str | None, points: int) -> None:
    assert route_points(None if setting is None else parse_setting(setting)) == points


def test_a_rollout_counts_by_its_percent_between_its_two_modes() -> None:
    assert progress(parse_setting("shadow:bus:50")) == pytest.approx(5 / 6)
    assert route_points(parse_setting("dual:bus:50")) == 5
    assert route_points(parse_setting("direct:bus:100")) == 0


@pytest.mark.parametrize(("days", "points"), [(1, 25), (29, 25), (30, 30), (95, 40), (900, 40)])
def test_an_expired_stop_gap_costs_more_each_month_up_to_a_cap(days: int, points: int) -> None:
    assert expired_points(days) == points


@pytest.mark.parametrize(
    ("count", "days", "points"),
    [
        (0, None, 0),
        (1, 0.5, 5),
        (9, 0.5, 5),
        (10, 0.5, 10),
        (1, 3, 10),
        (1, 8, 15),
        (10**6, 30, 25),
    ],
)
def test_backlog_points_grow_with_size_and_age(count: int, days: float | None, points: int) -> None:
    assert backlog_points(count, days) == points
