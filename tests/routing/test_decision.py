"""Route decisions for each mode, with and without a rollout."""

from __future__ import annotations

import dataclasses

import pytest

from martech_bus.routing.decision import RouteDecision, decide
from martech_bus.routing.flags import Flag, Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.rollout import bucket

EVENT = {"event_id": "e-1", "source": "web", "user_id": "u-1842"}  # bucket 0.3107 for braze


@pytest.mark.parametrize(
    ("mode", "actions"),
    [
        (RouteMode.DIRECT, (True, False, False, False)),
        (RouteMode.DUAL, (True, True, False, False)),
        (RouteMode.SHADOW, (True, True, False, True)),
        (RouteMode.BUS, (False, True, True, False)),
    ],
)
def test_each_mode_decides_its_actions(mode: RouteMode, actions: tuple[bool, ...]) -> None:
    decision = decide(Flag("braze", Setting(mode), version=4), EVENT)
    assert (
        decision.deliver_direct,
        decision.publish,
        decision.connector_delivers,
        decision.connector_shadow,
    ) == actions
    assert (decision.mode, decision.flag_version, decision.in_rollout) == (mode, 4, False)
    assert decision.integration == "braze"


@pytest.mark.parametrize("mode", list(RouteMode))
def test_exactly_one_path_sends_to_the_vendor(mode: RouteMode) -> None:
    decision = RouteDecision.for_mode(mode)
    assert decision.deliver_direct + decision.connector_delivers == 1


def test_no_flag_means_direct() -> None:
    decision = decide(None, EVENT)
    assert decision == RouteDecision.for_mode(RouteMode.DIRECT)
    assert decision.flag_version == 0


def test_a_key_inside_the_percentage_goes_to_the_target_mode() -> None:
    assert bucket("braze", "rollout", "u-1842") < 0.35
    flag = Flag("braze", Setting(RouteMode.DUAL, RouteMode.BUS, 35), version=2)
    decision = decide(flag, EVENT)
    assert (decision.mode, decision.in_rollout, decision.deliver_direct) == (
        RouteMode.BUS,
        True,
        False,
    )


def test_a_key_outside_the_percentage_stays_on_the_from_mode() -> None:
    flag = Flag("braze", Setting(RouteMode.DUAL, RouteMode.BUS, 30), version=2)
    decision = decide(flag, EVENT)
    assert (decision.mode, decision.in_rollout) == (RouteMode.DUAL, False)


def test_an_event_without_any_key_stays_on_the_from_mode() -> None:
    flag = Flag("braze", Setting(RouteMode.DUAL, RouteMode.BUS, 99.9))
    assert decide(flag, {}).mode is RouteMode.DUAL


def test_a_decision_is_frozen() -> None:
    decision = RouteDecision.for_mode(RouteMode.BUS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.publish = False  # type: ignore[misc]
