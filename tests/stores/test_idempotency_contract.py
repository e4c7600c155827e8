"""The idempotency contract, run against every backend (DynamoDB on the local moto server)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from martech_bus.errors import ConfigError, MartechBusError
from martech_bus.idempotency import (
    DEFAULT_LEASE,
    DEFAULT_TTL,
    Claim,
    IdempotencyKeyError,
    IdempotencyStore,
    MemoryIdempotencyStore,
)
from martech_bus.sinks.base import Delivery
from tests.stores.conftest import Clock, MakeIdempotency

LEASE = DEFAULT_LEASE.total_seconds()
TTL = DEFAULT_TTL.total_seconds()
KEY = Delivery("evt-1", "braze", 3, {}, {}).idempotency_key


def test_the_first_claim_wins_and_a_live_lease_refuses_the_second(
    idempotency_store: IdempotencyStore, clock: Clock
) -> None:
    claim = idempotency_store.claim(KEY)
    assert isinstance(claim, Claim)
    assert (claim.key, claim.lease_until) == (KEY, clock.now + LEASE)
    clock.advance(LEASE - 1)
    assert idempotency_store.claim(KEY) is None
    assert not idempotency_store.is_delivered(KEY)


def test_an_expired_lease_can_be_claimed_again_and_the_old_holder_cannot_release_it(
    idempotency_store: IdempotencyStore, clock: Clock
) -> None:
    crashed = idempotency_store.claim(KEY)
    assert crashed is not None
    clock.advance(LEASE)  # the lease ends exactly now
    taken_over = idempotency_store.claim(KEY)
    assert taken_over is not None and taken_over.token != crashed.token
    assert crashed.release() is False  # must not free the new holder's claim
    assert idempotency_store.claim(KEY) is None


def test_a_completed_key_is_not_claimed_again_until_its_ttl_ends(
    idempotency_store: IdempotencyStore, clock: Clock
) -> None:
    claim = idempotency_store.claim(KEY)
    assert claim is not None
    clock.advance(10)
    claim.complete()
    assert idempotency_store.is_delivered(KEY)
    clock.advance(TTL - 1)  # far past the lease, just inside the TTL
    assert idempotency_store.claim(KEY) is None
    assert idempotency_store.is_delivered(KEY)
    clock.advance(1)  # expired (moto never deletes it: the base class must judge)
    assert not idempotency_store.is_delivered(KEY)
    assert idempotency_store.claim(KEY) is not None


def test_release_makes_the_key_claimable_at_once(
    idempotency_store: IdempotencyStore,
) -> None:
    claim = idempotency_store.claim(KEY)
    assert claim is not None
    assert idempotency_store.release(claim) is True
    assert idempotency_store.claim(KEY) is not None


def test_a_completed_key_cannot_be_released(idempotency_store: IdempotencyStore) -> None:
    claim = idempotency_store.claim(KEY)
    assert claim is not None
    idempotency_store.complete(claim)
    assert idempotency_store.release(claim) is False
    assert idempotency_store.is_delivered(KEY)


def test_completing_after_the_lease_passed_on_still_records_the_delivery(
    idempotency_store: IdempotencyStore, clock: Clock
) -> None:
    slow = idempotency_store.claim(KEY)
    assert slow is not None
    clock.advance(LEASE + 1)
    other = idempotency_store.claim(KEY)
    assert other is not None
    slow.complete()  # the vendor has the event whoever holds the lease now
    assert idempotency_store.is_delivered(KEY)
    assert other.release() is False


def test_bulk_claims_answer_per_key(idempotency_store: IdempotencyStore) -> None:
    done, held = idempotency_store.claim("done"), idempotency_store.claim("held")
    assert done is not None and held is not None
    done.complete()
    claims = idempotency_store.claim_many(["a", "done", "b", "held", "a"])
    assert list(claims) == ["a", "done", "b", "held"]  # input order, repeats claimed once
    assert claims["done"] is None and claims["held"] is None
    fresh = [c for c in claims.values() if c is not None]
    assert sorted(c.key for c in fresh) == ["a", "b"]
    idempotency_store.complete_many(fresh[:1])
    assert idempotency_store.release_many([*fresh, done]) == {"b"}
    assert idempotency_store.delivered(["a", "b", "done", "held", "never"]) == {"a", "done"}
    assert idempotency_store.claim_many([]) == {}


def test_keys_must_be_non_empty_strings(idempotency_store: IdempotencyStore) -> None:
    with pytest.raises(IdempotencyKeyError, match="non-empty string"):
        idempotency_store.claim("")
    with pytest.raises(IdempotencyKeyError):
        idempotency_store.is_delivered(None)  # type: ignore[arg-type]
    assert issubclass(IdempotencyKeyError, MartechBusError)


def test_purge_leaves_only_live_records(
    idempotency_backend: str, idempotency_store: IdempotencyStore, clock: Clock
) -> None:
    old = idempotency_store.claim("old")
    assert old is not None
    old.complete()
    clock.advance(TTL)
    live = idempotency_store.claim("live")
    assert live is not None
    purged = idempotency_store.purge_expired()
    assert purged == (0 if idempotency_backend == "dynamodb" else 1)  # DynamoDB: the table's TTL
    assert idempotency_store.claim("live") is None
    assert idempotency_store.claim("old") is not None


def test_eight_threads_racing_for_one_key_yield_exactly_one_claim(
    idempotency_backend: str, make_idempotency_store: MakeIdempotency
) -> None:
    if idempotency_backend == "dynamodb":
        pytest.skip("moto takes no lock around a conditional write; DynamoDB makes it atomic")
    stores = [make_idempotency_store() for _ in range(8)]  # sqlite: one connection each
    start = threading.Barrier(len(stores))

    def race(store: IdempotencyStore) -> Claim | None:
        start.wait()
        return store.claim(KEY)

    with ThreadPoolExecutor(len(stores)) as pool:
        results = list(pool.map(race, stores))
    assert sum(r is not None for r in results) == 1


def test_one_store_shared_by_eight_threads_gives_one_claim_per_key(
    idempotency_backend: str, idempotency_store: IdempotencyStore
) -> None:
    if idempotency_backend == "dynamodb":
        pytest.skip("moto takes no lock around a conditional write; DynamoDB makes it atomic")
    keys = [f"k{i}" for i in range(20)]
    start = threading.Barrier(8)

    def race(_: int) -> dict[str, Claim | None]:
        start.wait()
        return idempotency_store.claim_many(keys)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(race, range(8)))
    for key in keys:
        assert sum(r[key] is not None for r in results) == 1


@pytest.mark.parametrize(
    "lease, ttl", [(timedelta(0), DEFAULT_TTL), (DEFAULT_LEASE, timedelta(-1))]
)
def test_lease_and_ttl_must_be_positive(lease: timedelta, ttl: timedelta) -> None:
    with pytest.raises(ConfigError, match="must be positive"):
        MemoryIdempotencyStore(lease=lease, ttl=ttl)
