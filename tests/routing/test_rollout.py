"""Sticky bucketing: pinned vectors, monotonic growth, an even spread."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from martech_bus.routing.rollout import bucket, in_rollout, routing_key


@pytest.mark.parametrize(
    ("flag", "salt", "key", "expected"),
    [
        ("braze", "rollout", "u-1842", 0.31072900710956275),
        ("braze", "rollout", "u-1843", 0.7191724017973131),
        ("web:meta_capi", "rollout", "a-77d1f0", 0.725837613668979),
        ("braze", "2024b", "u-1842", 0.9433619535906046),
    ],
)
def test_buckets_are_pinned(flag: str, salt: str, key: str, expected: float) -> None:
    assert bucket(flag, salt, key) == expected


def test_the_bucket_is_the_first_eight_bytes_of_sha256_over_two_to_the_64() -> None:
    digest = hashlib.sha256(b"braze.rollout.u-1842").digest()
    assert bucket("braze", "rollout", "u-1842") == int.from_bytes(digest[:8], "big") / 2**64


def test_a_new_salt_reshuffles_the_keys() -> None:
    assert bucket("braze", "rollout", "u-1842") != bucket("braze", "2024b", "u-1842")


@given(
    key=st.text(),
    flag=st.sampled_from(["braze", "web:meta_capi"]),
    percents=st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted),
)
def test_raising_the_percentage_only_moves_keys_forward(
    key: str, flag: str, percents: list[float]
) -> None:
    low, high = percents
    if in_rollout(flag, "rollout", key, low):
        assert in_rollout(flag, "rollout", key, high)


@given(key=st.text())
def test_zero_percent_moves_nobody_and_a_hundred_moves_everybody(key: str) -> None:
    assert not in_rollout("braze", "rollout", key, 0)
    assert in_rollout("braze", "rollout", key, 100)


def test_a_quarter_of_ten_thousand_keys_lands_in_a_25_percent_rollout() -> None:
    moved = sum(in_rollout("braze", "rollout", f"user-{n}", 25) for n in range(10_000))
    assert 2_200 <= moved <= 2_800


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ({"user_id": "u-1", "anonymous_id": "a-1", "event_id": "e-1"}, "u-1"),
        ({"user_id": None, "anonymous_id": "a-1", "event_id": "e-1"}, "a-1"),
        ({"user_id": "", "anonymous_id": None, "event_id": "e-1"}, "e-1"),
        ({}, None),
    ],
)
def test_the_key_is_the_user_else_the_anonymous_id_else_the_event(
    event: dict[str, str | None], key: str | None
) -> None:
    assert routing_key(event) == key
