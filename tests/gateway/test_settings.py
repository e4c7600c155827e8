"""Gateway settings: explicit > environment > default, and clear errors for nonsense."""

from __future__ import annotations

import pytest

from martech_bus.errors import ConfigError
from martech_bus.gateway.settings import GatewaySettings


def test_the_defaults_are_one_mebibyte_and_an_hourly_expiry_warning() -> None:
    assert GatewaySettings.resolve(environ={}) == GatewaySettings(1024 * 1024, 3600.0)


def test_the_environment_sets_the_body_limit() -> None:
    settings = GatewaySettings.resolve(environ={"MARTECH_BUS_GATEWAY_MAX_BODY_BYTES": "65536"})

    assert settings.max_body_bytes == 65536


def test_an_explicit_value_wins_over_the_environment() -> None:
    settings = GatewaySettings.resolve(
        max_body_bytes=10, environ={"MARTECH_BUS_GATEWAY_MAX_BODY_BYTES": "65536"}
    )

    assert settings.max_body_bytes == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MARTECH_BUS_GATEWAY_MAX_BODY_BYTES", "lots"),
        ("MARTECH_BUS_GATEWAY_MAX_BODY_BYTES", "0"),
        ("MARTECH_BUS_GATEWAY_MAX_BODY_BYTES", "1.5"),
        ("MARTECH_BUS_GATEWAY_EXPIRY_WARN_INTERVAL", "-1"),
        ("MARTECH_BUS_GATEWAY_EXPIRY_WARN_INTERVAL", "inf"),
    ],
)
def test_a_nonsensical_setting_is_a_configuration_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        GatewaySettings.resolve(environ={name: value})
