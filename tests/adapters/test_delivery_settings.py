"""Manifest sections feed the delivery layer as they are (skipped until those modules exist)."""

from __future__ import annotations

import dataclasses

import pytest

from martech_bus.adapter import Adapter
from tests.adapters.helpers import repo_adapters

ADAPTERS = pytest.mark.parametrize("adapter", repo_adapters(), ids=lambda a: a.name)


@ADAPTERS
def test_retry_overrides_apply_to_the_retry_policy(adapter: Adapter) -> None:
    retry = pytest.importorskip("martech_bus.retry")
    policy = retry.RetryPolicy().with_overrides(**adapter.manifest.retry)
    for key, value in adapter.manifest.retry.items():
        assert getattr(policy, key) == value


@ADAPTERS
def test_the_endpoint_sections_build_the_http_sinks_settings(adapter: Adapter) -> None:
    http = pytest.importorskip("martech_bus.sinks.http")
    manifest = adapter.manifest
    auth = manifest.endpoint.auth
    if auth is not None:
        assert http.AuthSpec(**auth.sink_settings()).refs()
    for section, cls in (
        (manifest.error_in_200, http.ErrorIn200),
        (manifest.partial_failure, http.PartialFailure),
    ):
        if section is not None:
            assert cls.from_mapping(dataclasses.asdict(section)) is not None


@ADAPTERS
def test_the_rate_limit_builds_a_token_bucket(adapter: Adapter) -> None:
    ratelimit = pytest.importorskip("martech_bus.ratelimit")
    limit = adapter.manifest.rate_limit
    assert limit is not None
    ratelimit.TokenBucket(limit.per_second, limit.burst)
