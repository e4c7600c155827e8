"""A dead-letter topic on Kafka, with Kafka Connect's error headers.

For records a consumer cannot turn into events at all (bad magic byte, unknown
schema id, truncated body): the record's raw key, value and headers are copied
to the dead-letter topic unchanged, plus the ``__connect.errors.*`` headers
Kafka Connect writes with ``errors.deadletterqueue.context.headers.enable=true``,
so tools and runbooks made for Connect's dead-letter queues read ours as they are.

Writes are at-least-once: ``flush()`` raises unless every queued record was
acknowledged, and a caller commits the source offset only after that. A retried
flush may write a record twice; the headers (topic, partition, offset) identify
duplicates. confluent-kafka is imported only when ``connect()`` builds a producer.
"""

from __future__ import annotations

import enum
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from martech_bus.errors import ConfigError, TransientError
from martech_bus.sinks.dlq import DeadLetterError

KAFKA_INSTALL_HINT: Final = "pip install 'martech-bus[kafka]'"
HEADER_PREFIX: Final = "__connect.errors."
TOPIC: Final = HEADER_PREFIX + "topic"
PARTITION: Final = HEADER_PREFIX + "partition"
OFFSET: Final = HEADER_PREFIX + "offset"
CONNECTOR_NAME: Final = HEADER_PREFIX + "connector.name"
TASK_ID: Final = HEADER_PREFIX + "task.id"
STAGE: Final = HEADER_PREFIX + "stage"
CLASS_NAME: Final = HEADER_PREFIX + "class.name"
EXCEPTION_CLASS_NAME: Final = HEADER_PREFIX + "exception.class.name"
EXCEPTION_MESSAGE: Final = HEADER_PREFIX + "exception.message"
EXCEPTION_STACKTRACE: Final = HEADER_PREFIX + "exception.stacktrace"

Header = tuple[str, bytes | None]

# librdkafka logs through this logger instead of printing to stderr.
_client_log = logging.getLogger("martech_bus.sinks.kafka_dlq.client")


class Stage(enum.StrEnum):
    """Where processing failed; Kafka Connect's stage names."""

    KAFKA_CONSUME = "KAFKA_CONSUME"
    KEY_CONVERTER = "KEY_CONVERTER"
    VALUE_CONVERTER = "VALUE_CONVERTER"
    HEADER_CONVERTER = "HEADER_CONVERTER"
    TRANSFORMATION = "TRANSFORMATION"
    TASK_PUT = "TASK_PUT"
    TASK_POLL = "TASK_POLL"
    KAFKA_PRODUCE = "KAFKA_PRODUCE"


class KafkaDeadLetterError(DeadLetterError, TransientError):
    """The dead-letter topic did not acknowledge every record; the source offsets must stay uncommitted."""


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """The consumed record that failed: where it was and its raw bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...] = ()


class ProducerLike(Protocol):
    """What this module needs from a confluent-kafka ``Producer``."""

    def produce(self, topic: str, *args: Any, **kwargs: Any) -> None: ...

    def poll(self, timeout: float = ...) -> int: ...

    def flush(self, timeout: float = ...) -> int: ...


def connect_error_headers(
    record: FailedRecord,
    error: BaseException,
    *,
    connector_name: str,
    task_id: str,
    stage: Stage | str,
    class_name: str,
) -> list[Header]:
    """The ``__connect.errors.*`` headers for ``record`` failing with ``error`` (UTF-8 values)."""
    stacktrace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    values = (
        (TOPIC, record.topic),
        (PARTITION, str(record.partition)),
        (OFFSET, str(record.offset)),
        (CONNECTOR_NAME, connector_name),
        (TASK_ID, task_id),
        (STAGE, str(stage)),
        (CLASS_NAME, class_name),
        (EXCEPTION_CLASS_NAME, qualified_name(type(error))),
        (EXCEPTION_MESSAGE, str(error)),
        (EXCEPTION_STACKTRACE, stacktrace),
    )
    return [(name, text.encode("utf-8")) for name, text in values]


def qualified_name(kind: type) -> str:
    """``martech_bus.errors.CodecError``: the Python counterpart of a Java class name."""
    return f"{kind.__module__}.{kind.__qualname__}"


class KafkaDeadLetterProducer:
    """Send failed records to ``topic``: raw bytes, original headers, Connect error headers."""

    def __init__(
        self,
        producer: ProducerLike,
        topic: str,
        *,
        connector_name: str,
        task_id: str = "0",
        flush_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not topic:
            raise ConfigError("the dead-letter topic needs a name")
        self.producer = producer
        self.topic = topic
        self.connector_name = connector_name
        self.task_id = task_id
        self.flush_timeout = flush_timeout
        self._clock = clock
        self._failures: list[str] = []

    @classmethod
    def connect(
        cls,
        bootstrap: str,
        topic: str,
        *,
        connector_name: str,
        task_id: str = "0",
        config: Mapping[str, Any] | None = None,
        flush_timeout: float = 30.0,
    ) -> KafkaDeadLetterProducer:
        """A dead-letter producer with its own confluent-kafka ``Producer`` (acks from all replicas)."""
        try:
            from confluent_kafka import Producer
        except ImportError:
            raise ConfigError(
                f"a Kafka dead-letter topic needs confluent-kafka: {KAFKA_INSTALL_HINT}"
            ) from None
        from martech_bus.kafka_client import client_properties

        settings: dict[str, Any] = {
            **client_properties(),
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "logger": _client_log,
            **(config or {}),
        }
        return cls(
            Producer(settings),
            topic,
            connector_name=connector_name,
            task_id=task_id,
            flush_timeout=flush_timeout,
        )

    def send(
        self,
        record: FailedRecord,
        error: BaseException,
        *,
        stage: Stage | str = Stage.VALUE_CONVERTER,
        class_name: str,
    ) -> None:
        """Queue ``record``'s dead letter; ``flush()`` confirms it."""
        headers = [
            *record.headers,
            *connect_error_headers(
                record,
                error,
                connector_name=self.connector_name,
                task_id=self.task_id,
                stage=stage,
                class_name=class_name,
            ),
        ]
        self._produce(record, headers)

    def send_many(
        self,
        failures: Sequence[tuple[FailedRecord, BaseException]],
        *,
        stage: Stage | str = Stage.VALUE_CONVERTER,
        class_name: str,
    ) -> None:
        """``send`` each failure, then ``flush``: all acknowledged, or ``KafkaDeadLetterError``."""
        for record, error in failures:
            self.send(record, error, stage=stage, class_name=class_name)
        self.flush()

    def _produce(self, record: FailedRecord, headers: list[Header]) -> None:
        deadline = self._clock() + self.flush_timeout
        while True:
            try:
                self.producer.produce(
                    self.topic,
                    value=record.value,
                    key=record.key,
                    headers=headers,
                    on_delivery=self._on_delivery,
                )
                return
            except BufferError:  # the local queue is full: serve delivery reports, then retry
                if self._clock() > deadline:
                    raise KafkaDeadLetterError(
                        f"the producer queue for dead-letter topic {self.topic!r} stayed full "
                        f"for {self.flush_timeout:g}s"
                    ) from None
                self.producer.poll(0.1)
            except Exception as exc:  # KafkaException and friends, translated at the boundary
                raise KafkaDeadLetterError(
                    f"cannot queue a dead letter for {self.topic!r}: {exc}"
                ) from exc

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is not None:
            self._failures.append(str(error))

    def flush(self) -> None:
        """Wait until every queued dead letter is acknowledged; ``KafkaDeadLetterError`` if not."""
        remaining = self.producer.flush(self.flush_timeout)
        failures, self._failures = self._failures, []
        if remaining or failures:
            detail = f"{remaining} still queued after {self.flush_timeout:g}s" if remaining else ""
            if failures:
                detail += ("; " if detail else "") + f"{len(failures)} failed: {failures[0]}"
            raise KafkaDeadLetterError(f"dead-letter topic {self.topic!r}: {detail}")

    def close(self) -> None:
        """Flush what is queued (errors raise, as in ``flush``)."""
        self.flush()


__all__ = [
    "HEADER_PREFIX",
    "FailedRecord",
    "KafkaDeadLetterError",
    "KafkaDeadLetterProducer",
    "ProducerLike",
    "Stage",
    "connect_error_headers",
    "qualified_name",
]
