"""The flag model: settings, the compact syntax, expiry nags."""

from __future__ import annotations

from datetime import date

import pytest

from martech_bus.errors import ConfigError
from martech_bus.routing.flags import Flag, Setting, nag, parse_setting
from martech_bus.routing.modes import RouteMode, parse_mode

TODAY = date(2027, 2, 1)


@pytest.mark.parametrize(
    ("text", "setting"),
    [
        ("bus", Setting(RouteMode.BUS)),
        ("dual:bus:25", Setting(RouteMode.DUAL, RouteMode.BUS, 25)),
        ("shadow:bus:12.5:2024b", Setting(RouteMode.SHADOW, RouteMode.BUS, 12.5, "2024b")),
    ],
)
def test_the_compact_syntax_round_trips(text: str, setting: Setting) -> None:
    assert parse_setting(text) == setting
    assert setting.compact() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("buss", "did you mean 'bus'?"),
        ("dual:bus", "FROM:TO:PERCENT"),
        ("dual:bus:lots", "percent must be a number"),
        ("dual:bus:101", "percent must be from 0 to 100"),
        ("bus:bus:10", "not bus to itself"),
    ],
)
def test_a_bad_compact_setting_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_setting(text)


def test_an_unknown_mode_lists_the_modes() -> None:
    with pytest.raises(ConfigError, match=r"modes: direct, dual, shadow, bus"):
        parse_mode("kafka")


def test_a_percent_without_a_target_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a rollout target"):
        Setting(RouteMode.DUAL, percent=10)


def test_describe_reads_like_a_sentence() -> None:
    assert Setting(RouteMode.DUAL, RouteMode.BUS, 25).describe() == "dual -> bus at 25%"
    assert Setting(RouteMode.BUS).describe() == "bus"


def test_an_expired_flag_nags_with_its_owner() -> None:
    flag = Flag("braze", Setting(RouteMode.BUS), expires_on=date(2027, 1, 30), owner="crm")
    (warning,) = nag([flag], TODAY)
    assert "braze: bus expired on 2027-01-30 (2 days ago) (owner: crm)" in warning


def test_a_flag_nags_from_the_day_after_its_end_date() -> None:
    flag = Flag("braze", Setting(RouteMode.BUS), expires_on=TODAY)
    assert nag([flag], TODAY) == []


def test_a_transitional_setting_without_an_end_date_nags() -> None:
    flags = [
        Flag("braze", Setting(RouteMode.SHADOW)),
        Flag("ga4", Setting(RouteMode.DIRECT, RouteMode.DUAL, 10)),
    ]
    assert [warning.split(":")[0] for warning in nag(flags, TODAY)] == ["braze", "ga4"]


def test_a_settled_flag_does_not_nag() -> None:
    flags = [Flag("braze", Setting(RouteMode.DIRECT)), Flag("ga4", Setting(RouteMode.BUS))]
    assert nag(flags, TODAY) == []
