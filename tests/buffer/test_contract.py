"""The buffer contract, run against every backend (SQS on the local moto server)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from martech_bus.buffer import (
    DEFAULT_VISIBILITY_TIMEOUT,
    BufferStore,
    Claimed,
    Incoming,
    InvalidRecordError,
)
from martech_bus.errors import ConfigError, MartechBusError
from tests.buffer.conftest import Buffers

LEASE = 1.0  # SQS counts whole seconds, and moto hides messages in real time


def incoming(n: int, source: str = "segment") -> Incoming:
    return Incoming(source, b'{"n": %d}' % n, {"content-type": "application/json"})


def payloads(claims: list[Claimed]) -> list[bytes]:
    return [c.record.payload for c in claims]


def test_append_claim_ack(buffers: Buffers, buffer: BufferStore) -> None:
    meta = {"content-type": "application/json", "request-id": "req-1", "signature": "valid ✓"}
    ids = buffer.append([Incoming("shopify", b"first", meta), incoming(2)])
    assert len(set(ids)) == 2
    assert buffer.depth() == 2
    before = buffers.clock()
    claims = buffers.claim_until(buffer, 2, LEASE)
    assert sorted(c.id for c in claims) == sorted(ids)
    first = next(c for c in claims if c.id == ids[0])
    assert (first.record.source, first.record.payload, dict(first.record.meta)) == (
        "shopify",
        b"first",
        meta,
    )
    assert first.record.attempts == 1 and not first.poison and first.reason is None
    assert before + LEASE <= first.lease_until <= buffers.clock() + LEASE
    assert abs(first.record.received_at - before) < 5
    assert buffer.ack(claims) == set(ids)
    assert buffer.depth() == 0
    assert buffer.claim(10, LEASE) == []
    if buffer.checks_tokens:  # SQS answers a repeated delete with success again
        assert buffer.ack(claims) == set()  # acking twice does nothing


def test_payloads_are_opaque_bytes(buffers: Buffers, buffer: BufferStore) -> None:
    every_byte = bytes(range(256)) * 4
    ids = buffer.append(
        [
            Incoming("canonical", every_byte),
            Incoming("canonical", b""),
            Incoming("canonical", bytearray(b"\x00mutable")),  # type: ignore[arg-type]
        ]
    )
    by_id = {c.id: c.record.payload for c in buffers.claim_until(buffer, 3, LEASE)}
    assert [by_id[i] for i in ids] == [every_byte, b"", b"\x00mutable"]
    assert all(type(p) is bytes for p in by_id.values())


def test_claimed_records_are_invisible_until_their_lease_runs_out(
    buffers: Buffers, buffer: BufferStore
) -> None:
    first, second = buffer.append([incoming(1)]), buffer.append([incoming(2)])
    held = buffers.claim_until(buffer, 2, LEASE)
    assert {c.id for c in held} == {*first, *second}
    assert buffer.claim(10, LEASE) == []  # both in flight
    assert buffer.depth() == 2  # in flight still counts
    buffers.advance(LEASE)
    again = buffers.claim_until(buffer, 2, LEASE)
    assert {c.id for c in again} == {*first, *second}
    assert {c.record.attempts for c in again} == {2}


def test_an_expired_lease_cannot_ack_and_the_new_holder_can(
    buffers: Buffers, buffer: BufferStore
) -> None:
    (record_id,) = buffer.append([incoming(1)])
    (crashed,) = buffers.claim_until(buffer, 1, LEASE)
    buffers.advance(LEASE)
    assert buffer.ack([crashed]) == set()  # its lease ran out: no longer the holder
    assert buffer.release([crashed]) == set()
    other = buffers.make()  # another drainer (memory: the same store)
    (taken_over,) = buffers.claim_until(other, 1, LEASE)
    assert taken_over.id == record_id and taken_over.token != crashed.token
    assert buffer.ack([crashed]) == set()
    assert buffer.depth() == 1
    assert other.ack([taken_over]) == {record_id}
    assert buffer.depth() == 0


def test_a_lease_superseded_by_a_release_and_a_new_claim_cannot_ack(
    buffers: Buffers, buffer: BufferStore
) -> None:
    if not buffer.checks_tokens:
        pytest.skip(
            "SQS deletes a message with any receipt handle it ever had (AWS: 'the request "
            "succeeds, but the message might not be deleted'); there only the lease-expiry rule "
            "refuses stale acks, which the test above checks"
        )
    buffer.append([incoming(1)])
    (first,) = buffer.claim(1, 60)
    assert buffer.release([first]) == {first.id}
    assert buffer.ack([first]) == set()  # released: the token is dead though its lease has time
    (second,) = buffer.claim(1, 60)
    assert buffer.ack([first]) == set() and buffer.release([first]) == set()
    assert buffer.ack([second]) == {second.id}


def test_release_makes_records_claimable_at_once(buffers: Buffers, buffer: BufferStore) -> None:
    buffer.append([incoming(1), incoming(2)])
    claims = buffers.claim_until(buffer, 2, 60)
    assert buffer.release(claims[:1]) == {claims[0].id}
    (again,) = buffers.claim_until(buffer, 1, 60)
    assert again.id == claims[0].id and again.record.attempts == 2
    assert buffer.claim(10, 60) == []  # the other is still held


def test_release_with_a_delay_hides_the_record_until_it_passes(
    buffers: Buffers, buffer: BufferStore
) -> None:
    buffer.append([incoming(1)])
    (claim,) = buffers.claim_until(buffer, 1, 60)
    assert buffer.release([claim], delay=LEASE) == {claim.id}
    assert buffer.claim(10, 60) == []
    buffers.advance(LEASE)
    (again,) = buffers.claim_until(buffer, 1, 60)
    assert again.id == claim.id and again.record.attempts == 2


def test_extend_renews_a_live_lease(buffers: Buffers, buffer: BufferStore) -> None:
    buffer.append([incoming(1)])
    (claim,) = buffers.claim_until(buffer, 1, LEASE)
    (renewed,) = buffer.extend([claim], 3 * LEASE)
    assert renewed.id == claim.id and renewed.lease_until > claim.lease_until
    buffers.advance(LEASE)  # past the first lease, inside the renewed one
    assert buffer.claim(10, LEASE) == []
    assert buffer.ack([claim]) == set()  # the old lease object has run out
    assert buffer.ack([renewed]) == {claim.id}


def test_attempts_count_claims_and_poison_is_surfaced_not_dropped(buffers: Buffers) -> None:
    buffer = buffers.make(max_attempts=2)
    (record_id,) = buffer.append([incoming(1)])
    for attempt in (1, 2):
        (claim,) = buffers.claim_until(buffer, 1, 60)
        assert (claim.record.attempts, claim.poison) == (attempt, False)
        buffer.release([claim])
    (poison,) = buffers.claim_until(buffer, 1, 60)
    assert poison.id == record_id and poison.record.attempts == 3
    assert poison.poison and poison.reason is not None and "max_attempts=2" in poison.reason
    assert poison.record.payload == b'{"n": 1}'  # all there, to quarantine
    buffer.release([poison])
    (still,) = buffers.claim_until(buffer, 1, 60)
    assert still.poison and still.record.attempts == 4  # it keeps coming back until acked
    assert buffer.ack([still]) == {record_id}


def test_claims_take_the_oldest_first_and_a_release_keeps_its_place(
    buffers: Buffers, buffer: BufferStore
) -> None:
    if buffers.backend == "sqs":
        pytest.skip("a standard SQS queue is only roughly FIFO (test_sqs checks a FIFO queue)")
    buffer.append([incoming(1), incoming(2)])
    buffer.append([incoming(3)])
    buffer.append([incoming(n) for n in range(4, 8)])
    first = buffer.claim(3, 60)
    assert payloads(first) == [b'{"n": %d}' % n for n in (1, 2, 3)]
    buffer.release(first[1:2])
    assert payloads(buffer.claim(2, 60)) == [b'{"n": 2}', b'{"n": 4}']


def test_claim_respects_the_limit_across_receives(buffers: Buffers, buffer: BufferStore) -> None:
    buffer.append([incoming(n) for n in range(25)])
    assert len(buffers.claim_until(buffer, 7, 60)) == 7
    rest = buffers.claim_until(buffer, 18, 60)  # SQS: more than one receive (10 at most each)
    assert len(rest) == 18
    assert buffer.claim(5, 60) == []


def test_depth_and_oldest_age(buffers: Buffers, buffer: BufferStore) -> None:
    assert buffer.depth() == 0
    assert buffer.oldest_age() is None
    buffer.append([incoming(1)])
    if buffers.fake is not None:
        buffers.fake.advance(30)
    buffer.append([incoming(2), incoming(3)])
    assert buffer.depth() == 3
    if buffers.backend == "sqs":
        assert buffer.oldest_age() is None  # not in SQS's API (CloudWatch has it)
        return
    assert buffer.oldest_age() == 30
    assert buffer.oldest_age(buffers.clock() + 70) == 100
    first = buffer.claim(1, 60)
    assert buffer.oldest_age() == 30  # in flight is still waiting
    buffer.ack(first)
    assert buffer.oldest_age() == 0


def test_an_id_given_by_the_caller_is_kept_and_a_retried_append_does_not_duplicate(
    buffers: Buffers, buffer: BufferStore
) -> None:
    record = Incoming("segment", b"once", id="req-42:segment", received_at=buffers.clock() - 5)
    assert buffer.append([record]) == ["req-42:segment"]
    if buffers.backend == "sqs":
        (claim,) = buffers.claim_until(buffer, 1, 60)
        assert claim.id == "req-42:segment"
        pytest.skip("a standard SQS queue keeps both copies of a retried append (FIFO dedupes)")
    assert buffer.append([record]) == ["req-42:segment"]  # the caller did not hear back
    assert buffer.depth() == 1
    (claim,) = buffer.claim(10, 60)
    assert claim.id == "req-42:segment" and claim.record.received_at == record.received_at


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Incoming("segment", "text, not bytes"), "payload must be bytes, got str"),  # type: ignore[arg-type]
        (Incoming("", b"x"), "needs a source"),
        (Incoming("segment", b"x", {"n": 1}), "meta must map text to text"),  # type: ignore[dict-item]
        (Incoming("segment", b"x", id=""), "id must be non-empty text"),
    ],
)
def test_invalid_records_are_refused_and_the_batch_is_not_written(
    buffer: BufferStore, bad: Incoming, message: str
) -> None:
    with pytest.raises(InvalidRecordError, match=message) as info:
        buffer.append([incoming(1), bad])
    assert isinstance(info.value, ValueError) and isinstance(info.value, MartechBusError)
    assert buffer.depth() == 0


def test_bad_arguments_are_config_errors(buffer: BufferStore) -> None:
    for call in (
        lambda: buffer.claim(0),
        lambda: buffer.claim(1, 0),
        lambda: buffer.claim(1, float("inf")),
        lambda: buffer.release([], delay=-1),
        lambda: buffer.extend([], -5),
    ):
        with pytest.raises(ConfigError):
            call()
    assert buffer.visibility_timeout == DEFAULT_VISIBILITY_TIMEOUT
    assert buffer.append([]) == [] and buffer.ack([]) == set() and buffer.release([]) == set()


def test_a_closed_store_refuses_work(buffers: Buffers) -> None:
    store = buffers.make()
    store.close()
    store.close()  # harmless
    with pytest.raises(MartechBusError, match="is closed"):
        store.append([incoming(1)])


def test_concurrent_appenders_lose_and_duplicate_nothing(
    buffers: Buffers, buffer: BufferStore
) -> None:
    # SQS: 10 each. A moto call takes tens of milliseconds and moto scans the whole
    # queue for every message sent, so 8,000 would take minutes; and SQS's concurrency
    # is AWS's, not ours: what is checked here is that the store object is thread-safe.
    threads, per_thread = 8, 10 if buffers.backend == "sqs" else 1_000

    def append(worker: int) -> list[str]:
        return [
            buffer.append([Incoming("segment", b"%d:%d" % (worker, n))])[0]
            for n in range(per_thread)
        ]

    with ThreadPoolExecutor(threads) as pool:
        ids = [i for chunk in pool.map(append, range(threads)) for i in chunk]
    assert len(ids) == len(set(ids)) == threads * per_thread
    assert buffer.depth() == threads * per_thread
    claimed = buffers.claim_until(buffer, threads * per_thread, 60)
    assert {c.id for c in claimed} == set(ids)
    assert {c.record.payload for c in claimed} == {
        b"%d:%d" % (w, n) for w in range(threads) for n in range(per_thread)
    }


def test_concurrent_claimers_never_hold_the_same_record_at_once(
    buffers: Buffers, buffer: BufferStore
) -> None:
    total = 100 if buffers.backend == "sqs" else 2_000
    for start in range(0, total, 50):
        buffer.append([incoming(n) for n in range(start, start + 50)])
    lock = threading.Lock()
    holding: set[str] = set()
    seen: list[str] = []
    overlaps: list[str] = []

    def drain(_: int) -> None:
        store = buffers.make()  # a drainer each (memory: the same store)
        while claims := store.claim(10, 60):
            with lock:
                overlaps.extend(c.id for c in claims if c.id in holding)
                holding.update(c.id for c in claims)
                seen.extend(c.id for c in claims)
            assert store.ack(claims) == {c.id for c in claims}
            with lock:
                holding.difference_update(c.id for c in claims)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(drain, range(4)))
    assert buffer.depth() == 0
    if buffers.backend == "sqs":
        # A standard SQS queue delivers at least once: two receivers may get the same
        # message (moto shows it under threads). Downstream dedupe by event_id covers it.
        assert len(set(seen)) == total
        return
    assert overlaps == []
    assert len(seen) == len(set(seen)) == total


def test_append_each_gives_every_record_its_own_outcome(
    buffers: Buffers, buffer: BufferStore
) -> None:
    outcomes = buffer.append_each([incoming(1), Incoming("", b"no source"), incoming(2)])
    first, refused, second = outcomes
    assert isinstance(refused, InvalidRecordError)  # fails alone
    assert isinstance(first, str) and isinstance(second, str)
    claims = buffers.claim_until(buffer, 2, LEASE)
    assert sorted(c.id for c in claims) == sorted([first, second])
    assert sorted(payloads(claims)) == [b'{"n": 1}', b'{"n": 2}']
