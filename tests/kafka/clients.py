"""Small confluent-kafka helpers for the Kafka tests."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

# librdkafka logs every refused connection to stderr; send it to logging instead.
QUIET = logging.getLogger("tests.kafka.librdkafka")


def producer(bootstrap: str, config: Mapping[str, Any] | None = None) -> Any:
    """A confluent-kafka producer for ``bootstrap`` with extra ``config``."""
    from confluent_kafka import Producer

    settings: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": QUIET, **(config or {})}
    return Producer(settings)


def produce_one(
    client: Any, topic: str, value: bytes, *, flush_timeout: float = 30.0, **kwargs: Any
) -> Any:
    """Produce one record and return its delivery error (None when delivered)."""
    outcome: list[Any] = []
    client.produce(topic, value, on_delivery=lambda err, _msg: outcome.append(err), **kwargs)
    remaining = client.flush(flush_timeout)
    assert remaining == 0, f"{remaining} record(s) still queued after {flush_timeout}s"
    assert len(outcome) == 1, outcome
    return outcome[0]


def admin(bootstrap: str) -> Any:
    from confluent_kafka.admin import AdminClient

    settings: dict[str, Any] = {"bootstrap.servers": bootstrap, "logger": QUIET}
    return AdminClient(settings)
