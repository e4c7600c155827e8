"""SSM flags: parameter layout, and optimistic concurrency through the parameter version."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from martech_bus.errors import ConfigError
from martech_bus.routing.audit import MemoryAuditLog
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.store import FlagConflictError
from martech_bus.routing.store_ssm import SsmFlagStore
from martech_bus.testing.aws import AwsEndpoint

PREFIX = "/martech-bus/flags"
DUAL, BUS, SHADOW = Setting(RouteMode.DUAL), Setting(RouteMode.BUS), Setting(RouteMode.SHADOW)


class Interleaving:
    """An SSM client that runs ``before_put`` once, just before the next overwrite goes out."""

    def __init__(self, client: Any, before_put: Callable[[], None]) -> None:
        self._client = client
        self._before_put: Callable[[], None] | None = before_put

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_parameter(self, **kwargs: Any) -> Any:
        if self._before_put is not None:
            run, self._before_put = self._before_put, None
            run()
        return self._client.put_parameter(**kwargs)


@pytest.fixture
def ssm(aws: AwsEndpoint) -> Any:
    return aws.client("ssm")


def store(client: Any) -> SsmFlagStore:
    return SsmFlagStore(PREFIX, client=client, ttl=0, audit=MemoryAuditLog())


def test_a_flag_is_one_json_parameter_per_integration(ssm: Any) -> None:
    store(ssm).set(
        "web:braze", Setting(RouteMode.DUAL, RouteMode.BUS, 25), reason="go", owner="crm"
    )
    parameter = ssm.get_parameter(Name=f"{PREFIX}/web/braze")["Parameter"]
    assert json.loads(parameter["Value"]) == {
        "mode": "dual",
        "to": "bus",
        "percent": 25,
        "owner": "crm",
        "reason": "go",
    }


def test_the_flag_version_is_the_parameter_version(ssm: Any) -> None:
    flags = store(ssm)
    flags.set("braze", DUAL, reason="a")
    saved = flags.set("braze", BUS, reason="b")
    assert saved.version == ssm.get_parameter(Name=f"{PREFIX}/braze")["Parameter"]["Version"] == 2


def test_list_maps_nested_parameters_back_to_integrations(ssm: Any) -> None:
    flags = store(ssm)
    flags.set("braze", DUAL, reason="a")
    flags.set("shopify:braze", BUS, reason="b")
    assert [flag.integration for flag in flags.list()] == ["braze", "shopify:braze"]


def test_a_parameter_that_is_not_json_names_itself(ssm: Any) -> None:
    ssm.put_parameter(Name=f"{PREFIX}/braze", Value="bus", Type="String")
    with pytest.raises(ConfigError, match=f"{PREFIX}/braze: the flag is not JSON"):
        store(ssm).get("braze")


def test_a_parameter_with_an_unknown_mode_names_itself(ssm: Any) -> None:
    ssm.put_parameter(Name=f"{PREFIX}/braze", Value='{"mode": "buss"}', Type="String")
    with pytest.raises(ConfigError, match=f"{PREFIX}/braze, at mode: unknown mode 'buss'"):
        store(ssm).get("braze")


def test_a_flip_that_loses_a_race_is_refused_and_the_winner_kept(ssm: Any) -> None:
    store(ssm).set("braze", DUAL, reason="adopt")
    winner = store(ssm)
    racing = store(Interleaving(ssm, lambda: winner.set("braze", SHADOW, reason="theirs")))
    with pytest.raises(FlagConflictError, match="flipped concurrently"):
        racing.set("braze", BUS, reason="mine")
    flag = store(ssm).get("braze")
    assert flag is not None and flag.setting == SHADOW
    assert flag.reason == "theirs"


def test_a_first_flip_that_loses_a_race_is_refused(ssm: Any) -> None:
    winner = store(ssm)
    racing = store(Interleaving(ssm, lambda: winner.set("braze", SHADOW, reason="theirs")))
    with pytest.raises(FlagConflictError):
        racing.set("braze", BUS, reason="mine")
    flag = store(ssm).get("braze")
    assert flag is not None and flag.setting == SHADOW


def test_a_refused_flip_is_not_audited(ssm: Any) -> None:
    store(ssm).set("braze", DUAL, reason="adopt")
    racing = store(Interleaving(ssm, lambda: store(ssm).set("braze", SHADOW, reason="theirs")))
    with pytest.raises(FlagConflictError):
        racing.set("braze", BUS, reason="mine")
    assert racing.history("braze") == []


def test_a_prefix_must_be_a_path(ssm: Any) -> None:
    with pytest.raises(ConfigError, match="a path like"):
        SsmFlagStore("martech-bus", client=ssm)
