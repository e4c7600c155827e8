"""The bus-side delivery connector: a Kafka consumer group feeding the one pipeline, to one vendor.

Each cycle fetches a batch, decodes every record into the version the adapter's
mapping reads, sends the batch through the same ``Pipeline`` as every other
entry point (route ``bus``, transient failures reported back rather than
dead-lettered) and commits, per partition, just past the longest run of
finished records. Finished means delivered, skipped with a reason, or
dead-lettered; nothing else is ever committed (at-least-once; the idempotency
store removes the duplicates a crash or a rebalance can cause).

A vendor outage pauses the partitions holding the failed records
(backpressure): the connector backs off with the injected sleep, retries the
same records, and resumes each partition once nothing of it waits. Other
partitions keep flowing. A record that cannot be decoded is dead-lettered raw
(to the Kafka dead-letter topic when one is set, else the dead-letter store)
and committed: it never blocks its partition.

Rebalance callbacks run inside ``consume()``, between cycles, never during a
delivery: a revoked partition commits what is finished and drops what waits,
uncommitted, for its next owner to read again.

Migration toggles: a record carries the modes its integrations had when it was
published (``martech_bus.routing.stamp``). The connector delivers a record whose
stamp puts its vendor in ``bus`` mode (or that has no stamp: the bus is its only
path); in ``shadow`` mode it renders the payload, diffs it against the direct
path's and records the result in the shadow store, sending nothing; any other
record (``direct``, ``dual``) is the direct path's to deliver and is skipped.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol

from martech_bus.config import setting
from martech_bus.connector.decoding import BusDecoder, TopicFor, reader_versions, topics_for
from martech_bus.connector.decoding import topic_for as default_topic_for
from martech_bus.connector.offsets import OffsetTracker, PartitionKey
from martech_bus.connector.stats import ConnectorStats
from martech_bus.errors import CodecError, ConfigError, MartechBusError
from martech_bus.pipeline import BUS, EventStatus, RetryLater
from martech_bus.retry import RetryPolicy
from martech_bus.routing.stamp import ConnectorRoute, read_stamp
from martech_bus.sinks.dlq import DeadLetter, new_id
from martech_bus.sinks.kafka_dlq import (
    KAFKA_INSTALL_HINT,
    FailedRecord,
    KafkaDeadLetterProducer,
    Stage,
)

if TYPE_CHECKING:
    from martech_bus.integration import Runtime
    from martech_bus.pipeline import Pipeline

#: Fetched per cycle (one pipeline call, one vendor batch, one commit).
DEFAULT_BATCH: Final = 500
#: A consume() waits at most this long, so a stop request is seen within it.
DEFAULT_POLL_TIMEOUT: Final = 1.0
#: Backoff between retries of held records: full jitter, capped well below the default
#: max.poll.interval.ms (300 s), since the consumer does not poll while it sleeps.
DEFAULT_BACKOFF: Final = RetryPolicy(base_delay=0.5, max_delay=30.0)
DECODER_CLASS: Final = "martech_bus.schema.codec.AvroCodec"

logger = logging.getLogger("martech_bus.connector")
# librdkafka logs through this logger instead of printing to stderr.
_client_log = logging.getLogger("martech_bus.connector.client")


class ConnectorError(MartechBusError):
    """The consumer hit a fatal Kafka error; the process should stop (offsets stay as committed)."""


class ConsumerLike(Protocol):
    """What the connector needs from a confluent-kafka ``Consumer``."""

    def subscribe(self, topics: list[str], **callbacks: Any) -> None: ...

    def consume(self, num_messages: int = ..., timeout: float = ...) -> list[Any]: ...

    def commit(self, *args: Any, **kwargs: Any) -> Any: ...

    def pause(self, partitions: list[Any]) -> None: ...

    def resume(self, partitions: list[Any]) -> None: ...

    def close(self) -> None: ...


ConsumerFactory = Callable[[dict[str, Any]], ConsumerLike]


def _kafka() -> Any:
    try:
        import confluent_kafka
    except ImportError:
        raise ConfigError(
            f"the bus connector needs confluent-kafka: {KAFKA_INSTALL_HINT}"
        ) from None
    return confluent_kafka


def confluent_consumer(config: dict[str, Any]) -> ConsumerLike:
    """A confluent-kafka ``Consumer`` (the default factory)."""
    consumer: ConsumerLike = _kafka().Consumer(config)
    return consumer


def default_group(adapter: str) -> str:
    """``martech-connector.<adapter>``: one group per vendor, shared by all its processes."""
    return f"martech-connector.{adapter}"


@dataclass(slots=True)
class _Held:
    """A fetched record not finished yet: its event, or its raw bytes when it did not decode."""

    key: PartitionKey
    offset: int
    event: dict[str, Any] | None
    raw: FailedRecord | None = None
    error: CodecError | None = None
    route: ConnectorRoute | None = None  # from the record's route stamp


class Connector:
    """Consume the canonical topics an adapter maps and deliver them with its mapping; see the module.

    ``runtime`` shares the registry, stores and HTTP client (default: a new ``Runtime``).
    ``sleep`` is the backoff between retries (default: waits on the stop event, so a
    stop request cuts it short). ``on_cycle`` sees the stats after every cycle.
    """

    def __init__(
        self,
        adapter: str | Path,
        *,
        runtime: Runtime | None = None,
        bootstrap: str | None = None,
        group: str | None = None,
        topic_prefix: str = "",
        topic_for: TopicFor | None = None,
        dead_letter_topic: str | None = None,
        dead_letter_producer: KafkaDeadLetterProducer | None = None,
        batch_size: int = DEFAULT_BATCH,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        backoff: RetryPolicy = DEFAULT_BACKOFF,
        consumer_config: Mapping[str, Any] | None = None,
        consumer_factory: ConsumerFactory = confluent_consumer,
        sleep: Callable[[float], None] | None = None,
        rng: Callable[[float, float], float] = random.uniform,
        task_id: str = "0",
        on_cycle: Callable[[ConnectorStats], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if runtime is None:
            from martech_bus.integration import Runtime

            runtime = Runtime()
        self.runtime = runtime
        self.adapter_name = str(adapter)
        resolved = setting("kafka_bootstrap", bootstrap)
        if not resolved:
            raise ConfigError(
                "no Kafka to read from: pass a bootstrap address or set MARTECH_BUS_KAFKA_BOOTSTRAP"
            )
        self.bootstrap: str = resolved
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.backoff = backoff
        self.topic_prefix = topic_prefix
        self.task_id = task_id
        self.dead_letter_topic = dead_letter_topic
        self._topic_for = topic_for or default_topic_for
        self._consumer_config = dict(consumer_config or {})
        self._consumer_factory = consumer_factory
        self._dlq_producer = dead_letter_producer
        self._sleep = sleep
        self._rng = rng
        self._on_cycle = on_cycle
        self._stop = threading.Event()
        self._consumer: ConsumerLike | None = None
        self._pipeline: Pipeline | None = None
        self._decoder: BusDecoder | None = None
        self._offsets = OffsetTracker()
        self._held: list[_Held] = []  # records waiting for a retry, in fetch order
        self._paused: set[PartitionKey] = set()
        self._attempt = 0  # consecutive retry rounds that left records held
        self._reported_errors: set[str] = set()
        # The adapter's folder name until it is loaded (names match for shipped adapters).
        name = Path(self.adapter_name).name
        self.group = group or default_group(name)
        self.stats = ConnectorStats(name, self.group)
        self.topics: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the adapter, build the pipeline, subscribe (idempotent; run_once calls it)."""
        if self._consumer is not None:
            return
        runtime = self.runtime
        adapter = runtime.adapter(self.adapter_name)
        self.stats.adapter = adapter.name
        self._decoder = BusDecoder(
            _with_central_ids(runtime.registry), reader_versions(adapter, runtime.registry)
        )
        self.topics = topics_for(
            adapter, runtime.registry, prefix=self.topic_prefix, topic_of=self._topic_for
        )
        pipeline = runtime.pipeline(
            [self.adapter_name], retry_later=RetryLater.REPORT, routed=False
        )
        # The same routes as the sprint path, marked as the bus route in dead letters and logs.
        self._pipeline = replace(pipeline, routes=[replace(r, route=BUS) for r in pipeline.routes])
        if self.dead_letter_topic and self._dlq_producer is None:
            self._dlq_producer = KafkaDeadLetterProducer.connect(
                self.bootstrap,
                self.dead_letter_topic,
                connector_name=self.group,
                task_id=self.task_id,
            )
        consumer = self._consumer_factory(self._config())
        consumer.subscribe(
            self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        self._consumer = consumer
        logger.info(
            "connector %s (group %s) subscribed to %s", adapter.name, self.group, self.topics
        )

    def _config(self) -> dict[str, Any]:
        from martech_bus.kafka_client import client_properties

        config: dict[str, Any] = {
            **client_properties(),
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group,
            "client.id": f"{self.group}.{self.task_id}",
            "auto.offset.reset": "earliest",
            "logger": _client_log,
            **self._consumer_config,
        }
        if str(config.get("enable.auto.commit", "false")).lower() not in ("false", "0"):
            raise ConfigError(
                "enable.auto.commit must stay false: the connector commits only finished records"
            )
        config["enable.auto.commit"] = False
        return config

    def close(self) -> None:
        """Commit what is finished and leave the group; held records stay uncommitted."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        try:
            self._commit(consumer)
        finally:
            try:
                consumer.close()  # leaves the group at once, so the partitions move without delay
            finally:
                if self._dlq_producer is not None:
                    self._dlq_producer.close()
        self._held.clear()
        self._paused.clear()
        self.stats.waiting = 0
        self.stats.assigned.clear()
        logger.info("connector %s closed: %s", self.stats.adapter, self.stats.as_dict())

    def __enter__(self) -> Connector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- running --------------------------------------------------------------------------

    def run(
        self, stop: threading.Event | None = None, max_messages: int | None = None
    ) -> ConnectorStats:
        """Run until ``stop`` is set or ``max_messages`` records are finished; then ``close()``."""
        if stop is not None:
            self._stop = stop
        try:
            self.start()
            while not self._stop.is_set():
                limit = None
                if max_messages is not None:
                    if self.stats.finished >= max_messages:
                        break
                    limit = max_messages - self.stats.finished - len(self._held)
                self.run_once(limit=limit)
        finally:
            self.close()
        return self.stats

    def run_once(self, *, limit: int | None = None) -> int:
        """One cycle: retry held records (after a backoff), fetch and deliver a batch, commit.

        ``limit`` caps how many new records are fetched. Returns how many records finished.
        """
        self.start()
        consumer = self._consumer
        assert consumer is not None
        finished = 0
        holding = bool(self._held)
        if holding:
            self._backoff_sleep()
            if self._stop.is_set():
                return 0
            finished += self._retry()
        wanted = self.batch_size if limit is None else min(self.batch_size, limit)
        if wanted > 0:
            # While records are held the backoff already waited: only serve callbacks and
            # fetch what the partitions that are not paused have ready.
            messages = consumer.consume(wanted, 0 if holding else self.poll_timeout)
            finished += self._handle(messages)
        self._commit(consumer)
        if self._on_cycle is not None:
            self._on_cycle(self.stats)
        return finished

    def stop(self) -> None:
        """Ask ``run`` to return after the current cycle (safe from a signal handler or thread)."""
        self._stop.set()

    # -- one batch ------------------------------------------------------------------------

    def _handle(self, messages: Sequence[Any]) -> int:
        assert self._decoder is not None
        held: list[_Held] = []
        now = time.time()
        for message in messages:
            error = message.error()
            if error is not None:
                self._consumer_error(error)
                continue
            key: PartitionKey = (message.topic(), message.partition())
            offset: int = message.offset()
            self._offsets.fetched(key, offset)
            self.stats.fetched += 1
            try:
                event, resolution = self._decoder.decode(message.value())
            except CodecError as exc:
                held.append(_Held(key, offset, None, _failed_record(message), exc))
                continue
            self.stats.decoded[resolution] += 1
            route = read_stamp(message.headers(), self.stats.adapter)
            held.append(_Held(key, offset, event, route=route))
        if held and self.stats.first_fetch_at is None:
            self.stats.first_fetch_at = now
        return self._process(held)

    def _process(self, records: list[_Held]) -> int:
        """Deliver or dead-letter ``records``; hold (and pause) what must be retried."""
        if not records:
            return 0
        raw = [record for record in records if record.event is None]
        events = [record for record in records if record.event is not None]
        still = self._dead_letter_raw(raw) + self._deliver(events)
        if still:
            self._held.extend(still)
            self._held.sort(key=lambda record: (record.key, record.offset))
        self._sync_pauses()
        if len(still) < len(records):
            self.stats.last_finish_at = time.time()
        return len(records) - len(still)

    def _deliver(self, records: list[_Held]) -> list[_Held]:
        records, still = self._route(records)
        if not records:
            return still
        assert self._pipeline is not None
        try:
            results = self._pipeline.process([record.event for record in records])
        except Exception:  # a store or a bug, not an event: nothing was committed, so retry
            logger.exception("the pipeline failed; %d record(s) will be retried", len(records))
            return still + records
        for record, result in zip(records, results, strict=True):
            if result.status is EventStatus.RETRY_LATER:
                still.append(record)
                continue
            if result.status is EventStatus.DELIVERED:
                self.stats.delivered += 1
            elif result.status is EventStatus.SKIPPED:
                self.stats.skipped += 1
            elif result.status is EventStatus.INVALID:
                self.stats.invalid += 1
            else:
                self.stats.dead_lettered += 1
            self._finish(record)
        return still

    def _route(self, records: list[_Held]) -> tuple[list[_Held], list[_Held]]:
        """Finish the records the direct path owns or that only shadow.

        Returns the records to deliver and those to hold for a retry.
        """
        deliver: list[_Held] = []
        hold: list[_Held] = []
        for record in records:
            route = record.route
            if route is None or route.delivers:
                deliver.append(record)
                continue
            if route.shadows:
                try:
                    self._shadow(record)
                except Exception:  # the shadow store is down: hold and retry, never drop
                    logger.exception("cannot record the shadow result; the record will be retried")
                    hold.append(record)
                    continue
                self.stats.shadowed += 1
            else:
                self.stats.skipped += 1
                logger.debug(
                    "skipped %s: %s", _event_id(record), route.skip_reason(self.stats.adapter)
                )
            self._finish(record)
        return deliver, hold

    def _shadow(self, record: _Held) -> None:
        """Render what the bus would send, diff it against the direct result, record it."""
        from martech_bus.schema.validate import validate_event
        from martech_bus.shadow.compare import compare
        from martech_bus.sinks.base import Outcome, OutcomeKind

        assert self._pipeline is not None and record.event is not None and record.route is not None
        pipeline = self._pipeline
        try:
            _, datum = validate_event(pipeline.registry, record.event, now=pipeline.now)
            rendered = pipeline.render(pipeline.routes[0], datum)
        except MartechBusError as exc:
            rendered = Outcome(_event_id(record), OutcomeKind.DEAD_LETTERED, exc.message)
            datum = dict(record.event)
        result = compare(
            self.stats.adapter, datum, record.route.direct, rendered, self.runtime.clock()
        )
        self.runtime.shadow.record(result)

    def _dead_letter_raw(self, records: list[_Held]) -> list[_Held]:
        """Dead-letter undecodable records; those whose dead letter was not stored are returned."""
        if not records:
            return []
        for record in records:
            assert record.raw is not None and record.error is not None
            logger.warning(
                "undecodable record %s[%d]@%d: %s",
                record.key[0],
                record.key[1],
                record.offset,
                record.error.message,
            )
        try:
            if self._dlq_producer is not None:
                self._dlq_producer.send_many(
                    [(r.raw, r.error) for r in records if r.raw and r.error],
                    stage=Stage.VALUE_CONVERTER,
                    class_name=DECODER_CLASS,
                )
            else:
                store = self.runtime.dead_letters
                for record in records:
                    store.put(self._dead_letter(record))
        except Exception:  # the dead-letter destination is down: hold, retry, never drop
            logger.exception("cannot dead-letter %d undecodable record(s)", len(records))
            return records
        for record in records:
            self.stats.undecodable += 1
            self._finish(record)
        return []

    def _dead_letter(self, record: _Held) -> DeadLetter:
        assert record.raw is not None and record.error is not None
        raw = record.raw
        now = datetime.fromtimestamp(self.runtime.clock(), UTC)
        headers = dict(raw.headers)
        ce_id = headers.get("ce_id")
        return DeadLetter(
            id=new_id(now),
            # The CloudEvents id is the event id, when the publisher set one.
            event_id=ce_id.decode("utf-8", "replace") if ce_id else "unknown",
            vendor=self.stats.adapter,
            mapping_version=0,
            event={"key": raw.key, "value": raw.value, "headers": [list(h) for h in raw.headers]},
            reason=f"undecodable record: {record.error.message}",
            error=f"{type(record.error).__name__}: {record.error}",
            dead_lettered_at=now,
            route=BUS,
            extra={"topic": raw.topic, "partition": raw.partition, "offset": raw.offset},
        )

    def _finish(self, record: _Held) -> None:
        self._offsets.finished(record.key, record.offset)

    # -- backpressure ---------------------------------------------------------------------

    def _backoff_sleep(self) -> None:
        self._attempt += 1
        delay = self.backoff.backoff(self._attempt, self._rng)
        if self._sleep is not None:
            self._sleep(delay)
        else:
            self._stop.wait(delay)

    def _retry(self) -> int:
        records, self._held = self._held, []
        self.stats.retried += len(records)
        finished = self._process(records)
        if not self._held:
            self._attempt = 0
        return finished

    def _sync_pauses(self) -> None:
        """Pause partitions holding records, resume those that no longer do."""
        holding = {record.key for record in self._held}
        pause, resume = holding - self._paused, self._paused - holding
        consumer = self._consumer
        if consumer is not None and (pause or resume):
            partition = _kafka().TopicPartition
            if pause:
                consumer.pause([partition(topic, p) for topic, p in sorted(pause)])
                self.stats.pauses += len(pause)
                logger.warning(
                    "paused %s: %d record(s) wait for a retry", _names(pause), len(self._held)
                )
            if resume:
                consumer.resume([partition(topic, p) for topic, p in sorted(resume)])
                self.stats.resumes += len(resume)
                logger.info("resumed %s", _names(resume))
        self._paused = holding
        self.stats.waiting = len(self._held)

    # -- offsets and rebalances -----------------------------------------------------------

    def _commit(self, consumer: ConsumerLike, keys: Sequence[PartitionKey] | None = None) -> None:
        positions = self._offsets.to_commit(keys)
        if not positions:
            return
        kafka = _kafka()
        offsets = [kafka.TopicPartition(topic, p, position) for (topic, p), position in positions]
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except kafka.KafkaException as exc:
            # At-least-once: an uncommitted finished record is read again and skipped as delivered.
            logger.warning("commit failed (will retry): %s", exc)
            return
        for key, position in positions:
            self._offsets.committed(key, position)
        self.stats.commits += 1

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._offsets.assign(keys)
        self.stats.assigned.update(keys)
        self.stats.ever_assigned.update(keys)
        self.stats.assignments += 1
        logger.info("assigned %s", _names(keys))

    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        # Finished work is committed while this member still owns the partitions ...
        self._commit(consumer, keys)
        # ... and held records are dropped uncommitted: the next owner reads them again.
        self._drop(consumer, keys)
        self.stats.revocations += 1
        logger.info("revoked %s", _names(keys))

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self._drop(consumer, keys)  # another member may own them: committing could go back
        self.stats.revocations += 1
        logger.warning("lost %s", _names(keys))

    def _drop(self, consumer: Any, keys: Sequence[PartitionKey]) -> None:
        gone = set(keys)
        dropped = [record for record in self._held if record.key in gone]
        if dropped:
            logger.info("dropped %d held record(s) of revoked partitions", len(dropped))
        self._held = [record for record in self._held if record.key not in gone]
        paused = sorted(self._paused & gone)
        if paused:
            # librdkafka keeps a partition paused across a rebalance: were it assigned here
            # again, it would never be fetched. Resume it while it is still ours.
            kafka = _kafka()
            try:
                consumer.resume([kafka.TopicPartition(topic, p) for topic, p in paused])
            except kafka.KafkaException as exc:
                logger.warning("cannot resume %s: %s", _names(paused), exc)
            self._paused -= gone
        self._offsets.forget(gone)
        self.stats.assigned -= gone
        self.stats.waiting = len(self._held)
        if not self._held:
            self._attempt = 0

    def _consumer_error(self, error: Any) -> None:
        kafka = _kafka()
        if error.code() == kafka.KafkaError._PARTITION_EOF:
            return
        if error.fatal():
            raise ConnectorError(f"fatal Kafka consumer error: {error}")
        text = str(error)
        if text not in self._reported_errors:  # e.g. a subscribed topic that does not exist yet
            self._reported_errors.add(text)
            logger.warning("Kafka consumer: %s", text)


def _event_id(record: _Held) -> str:
    event = record.event or {}
    return str(event.get("event_id", "unknown"))


def _with_central_ids(registry: Any) -> Any:
    """``registry`` with a central schema registry's ids when one is configured: records
    published with those ids must decode here too."""
    from martech_bus.bus.publisher import SCHEMA_REGISTRY_SETTING, central_ids

    if not setting(SCHEMA_REGISTRY_SETTING):
        return registry
    from martech_bus.bus.topics import load_bus_config

    return central_ids(registry, load_bus_config(), register=False)


def _failed_record(message: Any) -> FailedRecord:
    return FailedRecord(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        key=message.key(),
        value=message.value(),
        headers=tuple(message.headers() or ()),
    )


def _names(keys: Any) -> str:
    return ", ".join(f"{topic}[{partition}]" for topic, partition in sorted(keys)) or "nothing"


def default_task_id() -> str:
    """This process's task id in dead-letter headers: the pid (several processes share a group)."""
    return str(os.getpid())


__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_BATCH",
    "DEFAULT_POLL_TIMEOUT",
    "Connector",
    "ConnectorError",
    "ConsumerFactory",
    "ConsumerLike",
    "confluent_consumer",
    "default_group",
    "default_task_id",
]
