"""Environment-variable flags: read-only, one variable per integration."""

from __future__ import annotations

import pytest

from martech_bus.errors import ConfigError
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.store import ReadOnlyFlagStoreError
from martech_bus.routing.store_env import EnvFlagStore, variable_for


def store(**environ: str) -> EnvFlagStore:
    return EnvFlagStore(environ=environ, ttl=0)


def test_a_mode_is_read_from_its_variable() -> None:
    flag = store(MARTECH_BUS_FLAG_BRAZE="bus").get("braze")
    assert flag is not None and flag.setting == Setting(RouteMode.BUS)


def test_a_rollout_is_read_from_the_compact_syntax() -> None:
    flag = store(MARTECH_BUS_FLAG_META_CAPI="dual:bus:25").get("meta_capi")
    assert flag is not None and flag.setting == Setting(RouteMode.DUAL, RouteMode.BUS, 25)


def test_a_source_flag_writes_its_colon_as_a_double_underscore() -> None:
    assert variable_for("web:meta_capi") == "MARTECH_BUS_FLAG_WEB__META_CAPI"
    flag = store(MARTECH_BUS_FLAG_WEB__META_CAPI="bus").get("web:meta_capi")
    assert flag is not None and flag.integration == "web:meta_capi"


def test_an_unset_or_empty_variable_is_no_flag() -> None:
    assert store(MARTECH_BUS_FLAG_BRAZE="").get("braze") is None
    assert store().get("ga4") is None


def test_list_reads_every_flag_variable_and_nothing_else() -> None:
    flags = store(
        MARTECH_BUS_FLAG_BRAZE="bus",
        MARTECH_BUS_FLAG_WEB__GA4="direct",
        MARTECH_BUS_FLAGS="env",
        MARTECH_BUS_FLAGS_TTL="5",
    ).list()
    assert [flag.integration for flag in flags] == ["braze", "web:ga4"]


def test_an_unknown_mode_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="MARTECH_BUS_FLAG_BRAZE: unknown mode 'buss'"):
        store(MARTECH_BUS_FLAG_BRAZE="buss").get("braze")


def test_a_misspelt_variable_name_is_reported_by_list() -> None:
    with pytest.raises(ConfigError, match="MARTECH_BUS_FLAG_META-CAPI"):
        store(**{"MARTECH_BUS_FLAG_META-CAPI": "bus"}).list()


def test_a_flip_is_refused() -> None:
    with pytest.raises(ReadOnlyFlagStoreError, match="read-only"):
        store().set("braze", Setting(RouteMode.BUS), reason="go")


def test_a_rollback_is_refused() -> None:
    with pytest.raises(ReadOnlyFlagStoreError, match="read-only"):
        store(MARTECH_BUS_FLAG_BRAZE="bus").rollback("braze")
