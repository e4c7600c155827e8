"""The drainer: ack only after processing, release on RETRY_LATER, re-claim after a crash, quarantine."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from martech_bus.buffer.base import Incoming
from martech_bus.buffer.memory import MemoryBufferStore
from martech_bus.gateway.drainer import Drainer, exponential_backoff
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.quarantine import MemoryQuarantineStore
from martech_bus.gateway.sources import CANONICAL
from martech_bus.pipeline import EventResult, EventStatus
from martech_bus.testing.clock import FakeTime
from tests.gateway.helpers import SOURCES, order

LEASE = 30.0
TRACK: dict[str, Any] = json.loads(
    (SOURCES / "segment" / "fixtures" / "track_order_completed.input.json").read_text()
)


class Recorder:
    """A processing callable that records what it got and answers with ``status``."""

    def __init__(self, status: EventStatus = EventStatus.DELIVERED) -> None:
        self.status = status
        self.calls: list[list[Any]] = []
        self.during: list[int] = []  # buffer depth seen while processing
        self.buffer: MemoryBufferStore | None = None

    def __call__(self, events: list[Any]) -> list[EventResult]:
        self.calls.append(events)
        if self.buffer is not None:
            self.during.append(self.buffer.depth())
        return [EventResult(_id(event), self.status) for event in events]

    @property
    def events(self) -> list[Any]:
        return [event for call in self.calls for event in call]


def _id(event: Any) -> str | None:
    return event.get("event_id") if isinstance(event, dict) else None


@pytest.fixture
def buffer(fake: FakeTime) -> MemoryBufferStore:
    return MemoryBufferStore(clock=fake.clock, visibility_timeout=LEASE)


@pytest.fixture
def quarantine() -> MemoryQuarantineStore:
    return MemoryQuarantineStore()


def _drainer(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    process: Any,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> Drainer:
    return Drainer(
        buffer, normalizer, process, quarantine, fake.clock, fake.sleep, visibility_timeout=LEASE
    )


def _canonical(buffer: MemoryBufferStore, *events: dict[str, Any]) -> str:
    return buffer.append([Incoming(CANONICAL, json.dumps(list(events)).encode())])[0]


def _segment(buffer: MemoryBufferStore, payload: Any) -> str:
    return buffer.append([Incoming("segment", json.dumps(payload).encode())])[0]


def test_a_record_is_acked_only_after_its_events_were_processed(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    process = Recorder()
    process.buffer = buffer
    _canonical(buffer, order(), order())

    report = _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    assert process.during == [1]  # still buffered while being processed
    assert (report.claimed, report.acked, report.events) == (1, 1, 2)
    assert buffer.depth() == 0


def test_canonical_records_reach_process_as_sent(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    events = [order(), {"event_id": "not-valid-at-all"}]
    _canonical(buffer, *events)
    process = Recorder()

    _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    assert process.events == events  # validation is the pipeline's (INVALID -> dead letter)


@pytest.mark.parametrize(
    "status", [EventStatus.SKIPPED, EventStatus.DEAD_LETTERED, EventStatus.INVALID], ids=str
)
def test_events_that_are_done_without_delivery_still_ack(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
    status: EventStatus,
) -> None:
    _canonical(buffer, order())

    _drainer(buffer, normalizer, Recorder(status), quarantine, fake).run_once()

    assert buffer.depth() == 0


def test_retry_later_releases_the_record_with_a_backoff(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    _canonical(buffer, order())
    drainer = _drainer(buffer, normalizer, Recorder(EventStatus.RETRY_LATER), quarantine, fake)

    report = drainer.run_once()
    hidden = buffer.claim(10, LEASE)  # backoff for attempt 1: 1 s
    fake.advance(1.0)
    [again] = buffer.claim(10, LEASE)

    assert (report.released, report.acked) == (1, 0)
    assert buffer.depth() == 1
    assert hidden == []
    assert again.record.attempts == 2


def test_one_retry_later_event_holds_its_whole_record_but_not_the_others(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    later = order()
    _canonical(buffer, order(), later)
    _canonical(buffer, order())

    def process(events: list[Any]) -> list[EventResult]:
        return [
            EventResult(
                e["event_id"], EventStatus.RETRY_LATER if e is events[1] else EventStatus.DELIVERED
            )
            for e in events
        ]

    report = _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    assert (report.claimed, report.acked, report.released) == (2, 1, 1)


def test_the_backoff_doubles_up_to_a_cap() -> None:
    delay = exponential_backoff(base=1.0, cap=10.0)

    assert [delay(n) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_process_that_raises_releases_every_claimed_record(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    _canonical(buffer, order())
    _canonical(buffer, order())

    def broken(events: list[Any]) -> list[EventResult]:
        raise RuntimeError("the pipeline is down")

    report = _drainer(buffer, normalizer, broken, quarantine, fake).run_once()

    assert (report.released, report.acked) == (2, 0)
    assert buffer.depth() == 2


def test_a_crashed_drainers_records_are_claimed_again_once_its_lease_runs_out(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    event = order()
    _canonical(buffer, event)

    def crash(events: list[Any]) -> list[EventResult]:
        raise KeyboardInterrupt  # stands for the process dying mid-batch: nothing is settled

    with pytest.raises(KeyboardInterrupt):
        _drainer(buffer, normalizer, crash, quarantine, fake).run_once()
    survivor = Recorder()
    before = _drainer(buffer, normalizer, survivor, quarantine, fake).run_once()
    fake.advance(LEASE)
    after = _drainer(buffer, normalizer, survivor, quarantine, fake).run_once()

    assert before.claimed == 0  # still leased to the dead drainer
    assert (after.claimed, after.acked) == (1, 1)
    assert survivor.events == [event]
    assert buffer.depth() == 0


def test_vendor_items_that_fail_are_quarantined_and_the_rest_processed(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    broken = {**TRACK, "messageId": "m-2", "properties": {**TRACK["properties"], "currency": None}}
    record_id = _segment(buffer, {"batch": [TRACK, broken]})
    process = Recorder()

    report = _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    [item] = quarantine.list()
    assert (report.events, report.quarantined, report.acked) == (1, 1, 1)
    assert item.id == f"{record_id}#1"
    assert item.payload == buffer_payload({"batch": [TRACK, broken]})
    assert item.source == "segment"
    assert any("properties.currency" in problem for problem in item.problems)
    assert buffer.depth() == 0


def buffer_payload(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_a_payload_with_nothing_valid_is_quarantined_whole_and_acked(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    record_id = buffer.append([Incoming("segment", b"\x00not json")])[0]
    process = Recorder()

    _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    assert [item.id for item in quarantine.list()] == [record_id]
    assert process.calls == []
    assert buffer.depth() == 0


def test_quarantining_the_same_item_again_keeps_one_copy_and_counts(
    buffer: MemoryBufferStore,
    normalizer: Normalizer,
    quarantine: MemoryQuarantineStore,
    fake: FakeTime,
) -> None:
    buffer.append([Incoming("segment", b"[1, 2", id="r-1")])

    def crash(events: list[Any]) -> list[EventResult]:
        raise KeyboardInterrupt

    drainer = _drainer(buffer, normalizer, crash, quarantine, fake)
    quarantined_but_not_acked = quarantine.put  # the drainer dies right after quarantining

    def put_then_die(item: Any) -> Any:
        quarantined_but_not_acked(item)
        raise KeyboardInterrupt

    quarantine.put = put_then_die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        drainer.run_once()
    quarantine.put = quarantined_but_not_acked  # type: ignore[method-assign]
    fake.advance(LEASE)
    _drainer(buffer, normalizer, Recorder(), quarantine, fake).run_once()

    [item] = quarantine.list()
    assert item.attempts == 2
    assert buffer.depth() == 0


def test_a_poison_record_is_quarantined_whole_then_acked(
    normalizer: Normalizer, quarantine: MemoryQuarantineStore, fake: FakeTime
) -> None:
    buffer = MemoryBufferStore(clock=fake.clock, max_attempts=1, visibility_timeout=LEASE)
    record_id = _canonical(buffer, order())
    buffer.claim(1, LEASE)  # a drainer that died holding it: attempt 1 spent
    fake.advance(LEASE)
    process = Recorder()

    report = _drainer(buffer, normalizer, process, quarantine, fake).run_once()

    [item] = quarantine.list()
    assert (report.poison, report.acked) == (1, 1)
    assert item.id == record_id and item.source == CANONICAL
    assert "poison record" in item.reason
    assert process.calls == []


def test_run_drains_until_the_stop_event_is_set(
    buffer: MemoryBufferStore, normalizer: Normalizer, quarantine: MemoryQuarantineStore
) -> None:
    process = Recorder()
    drainer = Drainer(buffer, normalizer, process, quarantine, idle_interval=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=drainer.run, args=(stop,))
    thread.start()
    _canonical(buffer, order())
    for _ in range(500):
        if buffer.depth() == 0:
            break
        stop.wait(0.01)
    stop.set()
    thread.join(5)

    assert not thread.is_alive()
    assert len(process.events) == 1


def test_run_survives_a_failing_buffer_and_waits_before_trying_again(
    normalizer: Normalizer, quarantine: MemoryQuarantineStore, fake: FakeTime
) -> None:
    stop = threading.Event()

    class Flaky(MemoryBufferStore):
        calls = 0

        def claim(self, limit: int = 10, visibility_timeout: float | None = None) -> Any:
            Flaky.calls += 1
            if Flaky.calls >= 3:
                stop.set()
            raise OSError("disk gone")

    drainer = Drainer(
        Flaky(), normalizer, Recorder(), quarantine, fake.clock, fake.sleep, idle_interval=2.0
    )

    drainer.run(stop)

    assert fake.sleeps == [2.0, 2.0, 2.0]
