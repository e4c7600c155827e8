"""The Kafka sink: every message ends confirmed or handed back; sick producers are replaced."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import KafkaError

from martech_bus.errors import ConfigError
from martech_bus.sinks.kafka import (
    DEFAULT_PRODUCER_CONFIG,
    NOT_SETTLED,
    NOT_WRITTEN,
    PRODUCER_REPLACED,
    QUEUE_FULL,
    TERMINAL,
    BusMessage,
    KafkaSink,
    confluent_producer,
)
from martech_bus.testing.kafka import EmbeddedBroker, consume_all, create_topics
from tests.bus.helpers import QUIET, Clock, FakeError, FakeFactory, FakeKafkaError


def messages(count: int, topic: str = "t") -> list[BusMessage]:
    return [BusMessage(topic, b"v%d" % n, b"k%d" % n, [("h", b"1")], n) for n in range(count)]


def fake_sink(factory: FakeFactory, clock: Clock | None = None, **options: Any) -> KafkaSink:
    return KafkaSink(
        bootstrap="fake:9092", producer_factory=factory, clock=clock or Clock(), **options
    )


# --------------------------------------------------------------------------- accounting (fake producer)


def test_every_message_is_confirmed_with_its_partition_and_offset() -> None:
    result = fake_sink(FakeFactory()).send(messages(3))

    assert [(c.message.ref, c.partition, c.offset) for c in result.confirmed] == [
        (0, 0, 0),
        (1, 0, 1),
        (2, 0, 2),
    ]
    assert result.handed_back == []


def test_a_timed_out_message_is_handed_back_as_maybe_delivered() -> None:
    result = fake_sink(FakeFactory("fail:_MSG_TIMED_OUT")).send(messages(2))

    assert result.confirmed == []
    assert [
        (h.message.ref, h.code, h.maybe_delivered, h.retriable) for h in result.handed_back
    ] == [
        (0, "_MSG_TIMED_OUT", True, True),
        (1, "_MSG_TIMED_OUT", True, True),
    ]


def test_a_message_purged_from_the_queue_is_handed_back_as_not_written() -> None:
    (item,) = fake_sink(FakeFactory("fail:_PURGE_QUEUE")).send(messages(1)).handed_back

    assert (item.maybe_delivered, item.retriable) == (False, True)


def test_a_message_too_large_is_handed_back_as_not_retriable() -> None:
    (item,) = fake_sink(FakeFactory("fail:MSG_SIZE_TOO_LARGE")).send(messages(1)).handed_back

    assert (item.code, item.maybe_delivered, item.retriable) == ("MSG_SIZE_TOO_LARGE", False, False)


def test_a_message_the_producer_refuses_outright_is_handed_back() -> None:
    factory = FakeFactory()
    sink = fake_sink(factory)
    sink.put(messages(1)[0])  # creates the producer
    producer = factory.made[0]
    producer.produce = _raising(FakeKafkaError(FakeError("MSG_SIZE_TOO_LARGE")))  # type: ignore[method-assign]

    sink.put(BusMessage("t", b"x" * 10, ref="big"))
    result = sink.settle(1)

    assert [h.message.ref for h in result.handed_back] == ["big"]
    assert [c.message.ref for c in result.confirmed] == [0]


def _raising(error: BaseException) -> Any:
    def produce(*args: Any, **kwargs: Any) -> None:
        raise error

    return produce


def test_a_full_local_queue_is_backpressure_and_everything_is_still_confirmed() -> None:
    result = fake_sink(FakeFactory(queue_limit=2)).send(messages(7))

    assert [c.message.ref for c in result.confirmed] == list(range(7))


def test_a_queue_that_stays_full_hands_the_message_back_at_the_deadline() -> None:
    clock = Clock(step=0.5)
    sink = fake_sink(FakeFactory("hold", queue_limit=1), clock, queue_timeout=3, wedge_timeout=60)

    sink.put_all(messages(2))

    (full,) = sink.take().handed_back
    assert (full.message.ref, full.code, full.maybe_delivered) == (1, QUEUE_FULL, False)
    assert sink.pending == 1


def test_settle_hands_back_what_is_unconfirmed_at_its_deadline() -> None:
    clock = Clock(step=0.25)
    factory = FakeFactory("hold")
    sink = fake_sink(factory, clock, wedge_timeout=60)

    result = sink.send(messages(2), timeout=2)

    assert [(h.message.ref, h.code, h.maybe_delivered) for h in result.handed_back] == [
        (0, NOT_SETTLED, True),
        (1, NOT_SETTLED, True),
    ]
    assert factory.made[0].purged
    assert sink.pending == 0


# --------------------------------------------------------------------------- sick producers


def test_a_wedged_producer_is_replaced_and_its_messages_handed_back() -> None:
    clock = Clock(step=0.5)
    factory = FakeFactory("hold", "deliver")
    sink = fake_sink(factory, clock, wedge_timeout=5)

    first = sink.send(messages(3), timeout=60)
    second = sink.send(messages(2), timeout=60)

    assert [(h.message.ref, h.code) for h in first.handed_back] == [
        (0, PRODUCER_REPLACED),
        (1, PRODUCER_REPLACED),
        (2, PRODUCER_REPLACED),
    ]
    assert all(h.maybe_delivered and h.retriable for h in first.handed_back)
    assert [c.message.ref for c in second.confirmed] == [0, 1]
    assert (len(factory.made), sink.replacements) == (2, 1)


def test_a_fatal_error_raised_by_flush_replaces_the_producer() -> None:
    factory = FakeFactory("hold", "deliver")
    sink = fake_sink(factory)
    sink.put_all(messages(2))
    fatal = FakeKafkaError(FakeError("UNKNOWN_PRODUCER_ID", fatal=True))
    factory.made[0].flush = _raising(fatal)  # type: ignore[method-assign]

    result = sink.settle(10)

    assert [h.code for h in result.handed_back] == [PRODUCER_REPLACED, PRODUCER_REPLACED]
    assert "fatal" in result.handed_back[0].reason
    assert [c.message.ref for c in sink.send(messages(1)).confirmed] == [0]


def test_a_fatal_error_from_the_error_callback_replaces_the_producer() -> None:
    factory = FakeFactory("hold", "deliver")
    sink = fake_sink(factory)
    sink.put_all(messages(1))

    factory.made[0].config["error_cb"](FakeError("_FATAL", fatal=True))
    result = sink.settle(10)

    assert [h.code for h in result.handed_back] == [PRODUCER_REPLACED]
    assert [c.message.ref for c in sink.send(messages(1)).confirmed] == [0]
    assert len(factory.made) == 2


def test_an_idle_producer_that_only_failed_is_replaced_before_the_next_message() -> None:
    clock = Clock()
    factory = FakeFactory("fail:_MSG_TIMED_OUT", "deliver")
    sink = fake_sink(factory, clock, wedge_timeout=5)
    assert len(sink.send(messages(1)).handed_back) == 1

    clock.now += 6
    result = sink.send(messages(1))

    assert [c.message.ref for c in result.confirmed] == [0]
    assert result.handed_back == []
    assert len(factory.made) == 2


def test_a_late_report_from_a_replaced_producer_is_ignored() -> None:
    clock = Clock(step=1)
    factory = FakeFactory("hold")
    sink = fake_sink(factory, clock, wedge_timeout=3)
    assert len(sink.send(messages(2), timeout=60).handed_back) == 2

    old = factory.made[0]
    old.mode = "deliver"
    old.poll()

    assert sink.take().confirmed == []


def test_the_failure_tables_name_real_librdkafka_errors() -> None:
    assert [name for name in NOT_WRITTEN | TERMINAL if not hasattr(KafkaError, name)] == []


def test_the_default_producer_is_idempotent_acks_all_and_compressed() -> None:
    assert DEFAULT_PRODUCER_CONFIG["enable.idempotence"] is True
    assert DEFAULT_PRODUCER_CONFIG["acks"] == "all"
    # The wheel's librdkafka refuses a codec it was built without, at construction.
    confluent_producer(
        {"bootstrap.servers": "127.0.0.1:1", "logger": QUIET, **DEFAULT_PRODUCER_CONFIG}
    )


# --------------------------------------------------------------------------- a real broker


class CountingFactory:
    """Real producers, counting the BufferErrors they raise."""

    def __init__(self) -> None:
        self.buffer_errors = 0

    def __call__(self, config: dict[str, Any]) -> Any:
        real = confluent_producer(config)
        outer = self

        class Counting:
            def produce(self, *args: Any, **kwargs: Any) -> None:
                try:
                    real.produce(*args, **kwargs)
                except BufferError:
                    outer.buffer_errors += 1
                    raise

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

            def __len__(self) -> int:
                return len(real)

        return Counting()


@pytest.mark.integration
def test_a_tiny_local_queue_pushes_back_and_every_message_is_still_confirmed(
    kafka_bootstrap: str, bus_config: Any
) -> None:
    topic = bus_config.topic_name("backpressure", 1)
    create_topics(kafka_bootstrap, [topic])
    factory = CountingFactory()
    sink = KafkaSink(
        {"queue.buffering.max.messages": 10, "logger": QUIET},
        bootstrap=kafka_bootstrap,
        producer_factory=factory,
    )

    result = sink.send(messages(200, topic), timeout=60)

    assert factory.buffer_errors > 0
    assert sorted(c.message.ref for c in result.confirmed) == list(range(200))
    assert result.handed_back == []


@pytest.mark.integration
def test_settle_accounts_for_every_message_and_the_broker_holds_them(
    kafka_bootstrap: str, bus_config: Any
) -> None:
    topic = bus_config.topic_name("accounting", 1)
    create_topics(kafka_bootstrap, [topic])
    sink = KafkaSink({"logger": QUIET}, bootstrap=kafka_bootstrap)

    result = sink.send(messages(500, topic), timeout=60)

    assert sink.pending == 0
    assert len({(c.partition, c.offset) for c in result.confirmed}) == 500
    records = consume_all(kafka_bootstrap, topic, expected_count=500, timeout=30)
    assert {(r.partition, r.offset) for r in records} == {
        (c.partition, c.offset) for c in result.confirmed
    }


@pytest.mark.integration
def test_messages_sent_to_a_killed_broker_are_handed_back() -> None:
    with EmbeddedBroker() as broker:
        create_topics(broker.bootstrap, ["t"])
        sink = KafkaSink({"message.timeout.ms": 1500, "logger": QUIET}, bootstrap=broker.bootstrap)
        assert len(sink.send(messages(10)).confirmed) == 10
        broker.kill()

        started = time.monotonic()
        result = sink.send(messages(50), timeout=10)

        assert time.monotonic() - started < 10
        assert result.confirmed == []
        assert sorted(h.message.ref for h in result.handed_back) == list(range(50))
        assert all(h.maybe_delivered and h.retriable for h in result.handed_back)
        assert {h.code for h in result.handed_back} <= {"_MSG_TIMED_OUT", PRODUCER_REPLACED}


def test_an_invalid_producer_setting_is_a_config_error() -> None:
    sink = KafkaSink({"compression.type": "brotli", "logger": QUIET}, bootstrap="127.0.0.1:1")

    with pytest.raises(ConfigError, match="compression"):
        sink.put(messages(1)[0])
