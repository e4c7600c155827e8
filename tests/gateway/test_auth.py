"""Bearer tokens (rotation, comparison) and the development-mode binding rules."""

from __future__ import annotations

import pytest

from martech_bus.errors import ConfigError
from martech_bus.gateway.auth import BearerAuth, check_binding, is_loopback
from tests.gateway.helpers import NEXT_TOKEN, TOKEN


def test_tokens_come_comma_separated_from_the_environment() -> None:
    auth = BearerAuth.from_setting(
        environ={"MARTECH_BUS_GATEWAY_TOKENS": f" {TOKEN} , {NEXT_TOKEN},"}
    )

    assert len(auth) == 2
    assert auth.check(f"Bearer {TOKEN}") is None
    assert auth.check(f"Bearer {NEXT_TOKEN}") is None


def test_no_tokens_configured_means_development_mode() -> None:
    assert not BearerAuth.from_setting(environ={}).configured


def test_the_bearer_scheme_name_is_case_insensitive() -> None:
    assert BearerAuth([TOKEN]).check(f"bearer {TOKEN}") is None


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", f"Token {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
    ids=["absent", "empty", "no-token", "blank-token", "other-scheme", "longer", "prefix"],
)
def test_anything_but_a_configured_token_is_refused_with_a_reason(header: str | None) -> None:
    reason = BearerAuth([TOKEN]).check(header)

    assert reason
    assert TOKEN not in reason  # the reason never echoes a token


def test_a_token_with_whitespace_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        BearerAuth(["two words"])


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost"])
def test_loopback_addresses_are_local(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "testclient", "", None])
def test_anything_else_is_not_local(host: str | None) -> None:
    assert not is_loopback(host)


def test_without_tokens_a_loopback_bind_is_allowed_with_a_development_warning() -> None:
    warning = check_binding("127.0.0.1", BearerAuth())

    assert warning is not None and "development mode" in warning


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_without_tokens_a_public_bind_is_refused(host: str) -> None:
    with pytest.raises(ConfigError, match="MARTECH_BUS_GATEWAY_TOKENS"):
        check_binding(host, BearerAuth())


def test_with_tokens_any_bind_is_allowed_silently() -> None:
    assert check_binding("0.0.0.0", BearerAuth([TOKEN])) is None
