"""The embedded broker (tansu) and the topic helpers, checked with independent clients."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.testing.kafka import (
    EmbeddedBroker,
    EmbeddedBrokerError,
    consume_all,
    create_topics,
)
from tests.kafka.clients import admin, produce_one, producer

pytestmark = pytest.mark.integration


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_a_confluent_kafka_record_is_read_back_by_kafka_python_with_key_and_headers(
    kafka_bootstrap: str, topic: str
) -> None:
    create_topics(kafka_bootstrap, [topic])
    error = produce_one(
        producer(kafka_bootstrap),
        topic,
        b'{"event_id": "e-1"}',
        key=b"user-42",
        headers=[("ce_id", b"e-1"), ("ce_type", b"order_completed")],
    )
    assert error is None

    [record] = consume_all(kafka_bootstrap, topic, expected_count=1, timeout=30)

    assert record.key == b"user-42"
    assert record.value == b'{"event_id": "e-1"}'
    assert record.headers == (("ce_id", b"e-1"), ("ce_type", b"order_completed"))


def test_create_topics_makes_every_partition_and_accepts_topics_that_exist(
    kafka_bootstrap: str, topic: str
) -> None:
    create_topics(kafka_bootstrap, [topic, f"{topic}.dlq"], partitions=4)
    create_topics(kafka_bootstrap, [topic], partitions=4)  # again: no error

    topics = admin(kafka_bootstrap).list_topics(timeout=10).topics
    assert len(topics[topic].partitions) == 4
    assert len(topics[f"{topic}.dlq"].partitions) == 4


def test_consume_all_counts_records_across_partitions(kafka_bootstrap: str, topic: str) -> None:
    create_topics(kafka_bootstrap, [topic], partitions=3)
    client = producer(kafka_bootstrap)
    for n in range(9):
        client.produce(topic, f"v{n}".encode(), partition=n % 3)
    assert client.flush(30) == 0

    records = consume_all(kafka_bootstrap, topic, expected_count=9, timeout=30)

    assert sorted(r.value for r in records if r.value) == [f"v{n}".encode() for n in range(9)]
    assert {r.partition for r in records} == {0, 1, 2}


def test_consume_all_raises_timeout_error_when_too_few_records_arrive(
    kafka_bootstrap: str, topic: str
) -> None:
    create_topics(kafka_bootstrap, [topic], partitions=1)
    assert produce_one(producer(kafka_bootstrap), topic, b"only one") is None

    with pytest.raises(TimeoutError, match=r"read \d of 2 records"):
        consume_all(kafka_bootstrap, topic, expected_count=2, timeout=1)


def test_kill_fails_producers_and_restart_serves_a_new_producer_on_an_empty_broker(
    topic: str,
) -> None:
    with EmbeddedBroker() as broker:
        port = broker.port
        create_topics(broker.bootstrap, [topic], partitions=1)
        before = producer(broker.bootstrap, {"enable.idempotence": True})
        assert produce_one(before, topic, b"before", partition=0) is None

        broker.kill()
        assert not broker.running
        during = producer(broker.bootstrap, {"message.timeout.ms": 2000})
        assert produce_one(during, topic, b"during", partition=0) is not None
        # Drop every client that knows the topic: on tansu their metadata requests re-create it.
        del before, during

        broker.restart()

        assert broker.port == port
        # tansu keeps data in memory only: the restarted broker is empty.
        assert topic not in admin(broker.bootstrap).list_topics(timeout=10).topics
        # An idempotent producer from before the restart would wedge (tansu quirk); a new one works.
        after = producer(broker.bootstrap, {"enable.idempotence": True})
        assert produce_one(after, topic, b"after", partition=0) is None
        [record] = consume_all(broker.bootstrap, topic, expected_count=1, timeout=30)
        assert (record.value, record.offset) == (b"after", 0)


def test_stop_ends_the_broker_and_frees_its_port() -> None:
    broker = EmbeddedBroker().start()
    port, log = broker.port, broker.log_path
    assert broker.pid is not None and log.exists()

    broker.close()

    assert not broker.running
    assert not _accepts_connections(port)
    assert not log.exists()  # its own temporary log is removed


def test_a_port_in_use_is_refused_with_a_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is in use"):
            EmbeddedBroker(port).start()


def test_a_broker_that_exits_at_startup_is_reported_with_its_log(tmp_path: Path) -> None:
    broker = EmbeddedBroker(binary="false", log_path=tmp_path / "tansu.log")

    with pytest.raises(EmbeddedBrokerError, match="exited with code 1") as raised:
        broker.start()

    assert "martech-bus: starting false broker --listener-url tcp://127.0.0.1:" in str(raised.value)
    assert not broker.running
