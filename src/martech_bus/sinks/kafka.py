"""The Kafka producer sink: ready-made messages in, one delivery outcome per message out.

Nothing is lost silently. Every message put into the sink ends as exactly one of:

- ``Confirmed``: the broker acknowledged it (``acks=all``) at a partition and offset;
- ``HandedBack``: it was not confirmed, and goes back to the caller to send again,
  with a reason, whether it *may* have been written anyway (``maybe_delivered``) and
  whether sending it again can help (``retriable``).

A delivery report fires once per message, and only from ``poll()`` / ``flush()``
(REFERENCE.md, "Kafka producers"); the sink serves them while producing and in
``settle()``, which checks ``flush()``'s return value (only 0 means done).
``BufferError`` (local queue full) is backpressure: serve reports, try again, give up
at a deadline and hand the message back. A producer that reports a fatal error, or
confirms nothing for ``wedge_timeout`` seconds while messages wait (an idempotent
producer after a broker restart wedges like this on tansu), is replaced by a new one
from the injected factory, and everything it had not confirmed is handed back.

Handed back does not mean "not written": a message that timed out (``_MSG_TIMED_OUT``),
was purged in flight or sat in a replaced producer may be on the topic already. The
idempotent producer only dedupes its own retries within one session, so re-sending
can duplicate: consumers dedupe by the event id.

Single-threaded: one sink per thread. confluent-kafka is imported when the first
producer is made (``pip install 'martech-bus[kafka]'``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, Protocol, cast

from martech_bus.errors import ConfigError

INSTALL_HINT: Final = "pip install 'martech-bus[kafka]'"

#: Producer settings the sink always starts from (explicit config overrides them).
DEFAULT_PRODUCER_CONFIG: Final[Mapping[str, Any]] = {
    # Ordered, duplicate-free retries within a producer session; implies acks=all and
    # max.in.flight <= 5. Written here too so a reader sees the guarantees.
    "enable.idempotence": True,
    "acks": "all",
    # lz4: the cheapest codec on CPU (the publisher is CPU-bound); zstd compresses a
    # little better. Both are built into the confluent-kafka wheels.
    "compression.type": "lz4",
    # Batches fill within a few milliseconds at bus rates; the delay is bounded.
    "linger.ms": 5,
    # A message unconfirmed after this long is reported _MSG_TIMED_OUT and handed back.
    "message.timeout.ms": 30_000,
    # Java clients' partitioner: a user's events land on the same partition whichever
    # language produced them.
    "partitioner": "murmur2_random",
}
#: Seconds without any confirmation, while messages wait, before a producer counts as wedged.
DEFAULT_WEDGE_TIMEOUT: Final = 15.0
#: Seconds ``put`` waits for room in a full local queue before handing a message back.
DEFAULT_QUEUE_TIMEOUT: Final = 30.0
#: How long one poll/flush call may block inside the wait loops.
_STEP: Final = 0.1
#: Serve delivery reports every this many messages while producing (bounds memory).
_POLL_EVERY: Final = 1000

# Codes (``KafkaError.name()``) after which the broker certainly holds no copy; any other
# failure may have been written (a lost acknowledgement looks like a timeout).
NOT_WRITTEN: Final = frozenset(
    {
        "_PURGE_QUEUE",  # purged before it was sent
        "_QUEUE_FULL",
        "MSG_SIZE_TOO_LARGE",
        "RECORD_LIST_TOO_LARGE",
        "INVALID_MSG_SIZE",
        "INVALID_RECORD",
        "INVALID_MSG",
        "_UNKNOWN_TOPIC",
        "UNKNOWN_TOPIC_OR_PART",
        "_UNKNOWN_PARTITION",
        "TOPIC_EXCEPTION",
        "TOPIC_AUTHORIZATION_FAILED",
        "CLUSTER_AUTHORIZATION_FAILED",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        "INVALID_REQUIRED_ACKS",
        "_INVALID_ARG",
    }
)
# Codes where sending the same bytes again fails the same way (a config or data problem).
TERMINAL: Final = frozenset(
    {
        "MSG_SIZE_TOO_LARGE",
        "RECORD_LIST_TOO_LARGE",
        "INVALID_MSG_SIZE",
        "INVALID_RECORD",
        "INVALID_MSG",
        "TOPIC_EXCEPTION",
        "TOPIC_AUTHORIZATION_FAILED",
        "CLUSTER_AUTHORIZATION_FAILED",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        "INVALID_REQUIRED_ACKS",
        "_INVALID_ARG",
    }
)

_new_tuple: Final = tuple.__new__

# The sink's own hand-back codes (not librdkafka's).
QUEUE_FULL: Final = "_QUEUE_FULL"
PRODUCER_REPLACED: Final = "PRODUCER_REPLACED"
NOT_SETTLED: Final = "NOT_SETTLED"

_log = logging.getLogger(__name__)
# librdkafka prints to stderr unless given a logger; its lines go to logging instead.
_client_log = logging.getLogger(f"{__name__}.librdkafka")


class BusMessage(NamedTuple):
    """One record to produce. ``ref`` is the caller's, returned untouched with the outcome."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()
    ref: Any = None


class Confirmed(NamedTuple):
    """The broker acknowledged ``message`` at ``partition`` / ``offset``."""

    message: BusMessage
    partition: int
    offset: int


class HandedBack(NamedTuple):
    """``message`` was not confirmed: the caller owns it again."""

    message: BusMessage
    reason: str
    code: str
    #: The broker may hold it anyway (timed out, purged in flight, producer replaced).
    maybe_delivered: bool
    #: Sending it again may succeed (False: the same bytes fail the same way).
    retriable: bool


@dataclass(slots=True)
class SendResult:
    """Outcomes settled since the previous result was taken, in the order they settled."""

    confirmed: list[Confirmed] = field(default_factory=list)
    handed_back: list[HandedBack] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.handed_back


class ProducerLike(Protocol):
    """The part of ``confluent_kafka.Producer`` the sink uses."""

    def produce(self, topic: str, value: Any = ..., key: Any = ..., **kwargs: Any) -> None: ...

    def poll(self, timeout: float = ...) -> int: ...

    def flush(self, timeout: float = ...) -> int: ...

    def purge(self, in_queue: bool = ..., in_flight: bool = ..., blocking: bool = ...) -> None: ...

    def __len__(self) -> int: ...


ProducerFactory = Callable[[dict[str, Any]], ProducerLike]


def confluent_producer(config: dict[str, Any]) -> ProducerLike:
    """The default factory: a ``confluent_kafka.Producer``."""
    try:
        from confluent_kafka import KafkaException, Producer
    except ImportError:
        raise ConfigError(f"publishing to Kafka needs confluent-kafka: {INSTALL_HINT}") from None
    try:
        return cast("ProducerLike", Producer(config))
    except KafkaException as exc:  # an unknown property or an invalid value
        raise ConfigError(f"invalid Kafka producer configuration: {exc}") from exc


def _kafka_error_of(exc: BaseException) -> Any:
    """The KafkaError a KafkaException carries (None when it carries none)."""
    error = exc.args[0] if exc.args else None
    return error if hasattr(error, "code") and hasattr(error, "fatal") else None


def _is_kafka_exception(exc: BaseException) -> bool:
    return type(exc).__name__ == "KafkaException" and _kafka_error_of(exc) is not None


def _listed(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]] | None:
    """Headers as confluent-kafka takes them (a list, or None for none)."""
    if not headers:
        return None
    # A message may keep them as a tuple (untracked by the GC); produce() copies them.
    return headers if type(headers) is list else list(headers)


def classify(code: str) -> tuple[bool, bool]:
    """(maybe_delivered, retriable) for a librdkafka error name."""
    return code not in NOT_WRITTEN, code not in TERMINAL


class KafkaSink:
    """Produces ``BusMessage``s; every one ends as ``Confirmed`` or ``HandedBack``.

    ``put`` / ``put_all`` enqueue (serving reports on the way); ``settle`` waits until
    everything enqueued has an outcome and returns what settled; ``send`` does both.
    ``config`` is merged over ``DEFAULT_PRODUCER_CONFIG`` (``bootstrap`` sets
    ``bootstrap.servers``). ``clock`` is injectable for the wedge and deadline logic.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        bootstrap: str | None = None,
        producer_factory: ProducerFactory = confluent_producer,
        wedge_timeout: float = DEFAULT_WEDGE_TIMEOUT,
        queue_timeout: float = DEFAULT_QUEUE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        merged: dict[str, Any] = {**DEFAULT_PRODUCER_CONFIG, "logger": _client_log}
        if bootstrap is not None:
            merged["bootstrap.servers"] = bootstrap
        merged.update(config or {})
        if not merged.get("bootstrap.servers"):
            raise ConfigError("the Kafka sink needs bootstrap.servers (host:port)")
        if wedge_timeout <= 0 or queue_timeout < 0:
            raise ConfigError("wedge_timeout must be > 0 and queue_timeout >= 0")
        self.config = merged
        self.wedge_timeout = wedge_timeout
        self.queue_timeout = queue_timeout
        #: How many producers were replaced (fatal error, wedged, settle deadline).
        self.replacements = 0
        self._factory = producer_factory
        self._clock = clock
        self._producer: ProducerLike | None = None
        self._pending: dict[int, BusMessage] = {}  # sequence number -> unconfirmed message
        self._seq = 0
        self._since_poll = 0
        # When the current stall began: set when messages wait, reset by a confirmation.
        # A failure does not reset it, so a producer that only ever times out still
        # counts as wedged across batches.
        self._stall_since: float | None = None
        self._fatal: Any = None
        self._result = SendResult()

    # -- public ---------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Messages enqueued and not settled yet."""
        return len(self._pending)

    @property
    def default_settle_timeout(self) -> float:
        """``message.timeout.ms`` plus a margin: librdkafka settles every message by then."""
        return float(self.config.get("message.timeout.ms", 300_000)) / 1000.0 + 5.0

    def put(self, message: BusMessage, *, deadline: float | None = None) -> None:
        """Enqueue one message; backpressure waits until ``deadline`` (clock time; default
        ``queue_timeout`` from the first full-queue refusal) at most."""
        self._produce(message, deadline)

    def put_all(self, messages: Iterable[BusMessage]) -> None:
        """Enqueue messages; waiting for queue room is bounded by ``queue_timeout`` per message."""
        # The common case inline, with the counters in locals: a healthy producer with
        # messages already in flight (so no idle check, no stall clock to start) and no
        # reports due. Anything else, and any exception from produce() (nothing was
        # enqueued then), takes ``_produce``, which keeps the counters itself.
        pending = self._pending
        report = self._report
        bind = functools.partial
        last = _POLL_EVERY - 1
        seq, since = self._seq, self._since_poll
        try:
            for message in messages:
                producer = self._producer
                stalling = self._stall_since is not None  # set while messages wait
                if producer is not None and pending and since < last and stalling:
                    topic, value, key, headers, _ = message
                    try:
                        producer.produce(
                            topic,
                            value,
                            key,
                            headers=[*headers] if headers else None,  # see _listed
                            on_delivery=bind(report, seq + 1),
                        )
                    except Exception:
                        pass
                    else:
                        seq += 1
                        pending[seq] = message
                        since += 1
                        continue
                self._seq, self._since_poll = seq, since
                self._produce(message, None)
                seq, since = self._seq, self._since_poll
        finally:
            self._seq, self._since_poll = seq, since

    def settle(self, timeout: float | None = None) -> SendResult:
        """Wait until every enqueued message has an outcome; return everything settled since last time.

        What is still unconfirmed after ``timeout`` seconds (default
        ``default_settle_timeout``) is handed back, and its producer replaced so it
        cannot deliver a copy behind our back later.
        """
        budget = self.default_settle_timeout if timeout is None else timeout
        deadline = self._clock() + budget
        while self._pending:
            producer = self._producer
            if producer is None:  # cannot happen: replacing hands back everything
                self._hand_back_all("no producer holds these messages", NOT_SETTLED)
                break
            remaining = deadline - self._clock()
            if remaining <= 0:
                self._replace(f"not confirmed within {budget:g}s", NOT_SETTLED)
                break
            try:
                left = producer.flush(min(_STEP, remaining))
            except Exception as exc:
                self._note_exception(exc)
                left = -1
            if self._unhealthy():
                continue
            if left == 0 and self._pending:
                # flush() returned 0: every report was served, yet some messages got none.
                self._hand_back_all("no delivery report arrived", NOT_SETTLED)
        return self.take()

    def send(self, messages: Iterable[BusMessage], *, timeout: float | None = None) -> SendResult:
        """``put_all`` then ``settle``."""
        self.put_all(messages)
        return self.settle(timeout)

    def poll(self) -> SendResult:
        """Serve pending delivery reports without waiting; return what settled since last time."""
        if self._producer is not None:
            self._serve(self._producer, 0)
        self._unhealthy()
        return self.take()

    def take(self) -> SendResult:
        """The outcomes settled since the last ``take`` (and forget them)."""
        result, self._result = self._result, SendResult()
        return result

    def close(self, timeout: float | None = None) -> SendResult:
        """Settle everything (flush), then drop the producer."""
        result = self.settle(timeout)
        self._producer = None
        return result

    # -- producing ------------------------------------------------------------------------

    def _produce(self, message: BusMessage, deadline: float | None) -> None:
        producer = self._producer
        if producer is None or (not self._pending and self._stalled()):
            # An idle producer whose last messages all failed, for longer than the wedge
            # bound: replace it before it swallows new ones (nothing to hand back).
            producer = self._fresh_producer() if producer is None else self._replaced_idle()
        self._seq = seq = self._seq + 1
        report = functools.partial(self._report, seq)
        while True:
            try:
                producer.produce(
                    message.topic,
                    message.value,
                    message.key,
                    headers=_listed(message.headers),
                    on_delivery=report,
                )
                break
            except BufferError:
                # Backpressure: the local queue is full. Serving reports frees room.
                if deadline is None:
                    deadline = self._clock() + self.queue_timeout
                if self._clock() >= deadline:
                    self._settle_failed(
                        message,
                        f"the producer's local queue stayed full for {self.queue_timeout:g}s",
                        QUEUE_FULL,
                    )
                    return
                self._serve(producer, _STEP)
            except Exception as exc:
                if not _is_kafka_exception(exc):
                    raise  # TypeError / ValueError: a bug in the message, not the broker
                error = _kafka_error_of(exc)
                if not error.fatal():
                    reason = f"refused by the producer: {error.str()}"
                    self._settle_failed(message, reason, error.name())
                    return
                self._fatal = error
                if deadline is None:
                    deadline = self._clock() + self.queue_timeout
                if self._clock() >= deadline:
                    self._settle_failed(
                        message, f"fatal producer error: {error.str()}", error.name()
                    )
                    return
            # Replace a fatally broken or wedged producer, then try the new one.
            self._unhealthy()
            producer = self._producer or self._fresh_producer()
        if self._stall_since is None:
            self._stall_since = self._clock()
        self._pending[seq] = message
        self._since_poll += 1
        if self._since_poll >= _POLL_EVERY:
            self._since_poll = 0
            self._serve(producer, 0)
            self._unhealthy()

    def _report(self, seq: int, error: Any, record: Any) -> None:
        """librdkafka's delivery report (called from poll/flush)."""
        message = self._pending.pop(seq, None)
        if message is None:  # already handed back when its producer was replaced
            return
        if error is None:
            # One per message: built as a plain tuple (a NamedTuple's __new__ is Python code).
            confirmed = _new_tuple(Confirmed, (message, record.partition(), record.offset()))
            self._result.confirmed.append(confirmed)
            self._stall_since = self._clock() if self._pending else None
            return
        name = error.name()
        maybe, retriable = classify(name)
        self._result.handed_back.append(
            HandedBack(message, f"delivery failed: {error.str()}", name, maybe, retriable)
        )
        if error.fatal():
            self._fatal = error

    def _settle_failed(self, message: BusMessage, reason: str, code: str) -> None:
        maybe, retriable = classify(code)
        self._result.handed_back.append(HandedBack(message, reason, code, maybe, retriable))

    # -- producer health ------------------------------------------------------------------

    def _serve(self, producer: ProducerLike, timeout: float) -> None:
        try:
            producer.poll(timeout)
        except Exception as exc:
            self._note_exception(exc)

    def _note_exception(self, exc: Exception) -> None:
        """poll()/flush() raise KafkaException once the producer hit a fatal error."""
        if not _is_kafka_exception(exc):
            raise exc
        error = _kafka_error_of(exc)
        if error.fatal():
            self._fatal = error
        else:  # not documented to happen; keep the evidence, do not stop
            _log.warning("Kafka producer raised %s", error)

    def _on_error(self, error: Any) -> None:
        """librdkafka's error callback: mostly informational; a fatal error kills the producer."""
        if error.fatal():
            self._fatal = error
        else:
            _log.debug("Kafka producer: %s", error)

    def _stalled(self) -> bool:
        since = self._stall_since
        return since is not None and self._clock() - since > self.wedge_timeout

    def _unhealthy(self) -> bool:
        """Replace the producer if it is fatally broken or wedged; True if it was replaced."""
        if self._fatal is not None:
            self._replace(f"the producer hit a fatal error: {self._fatal.str()}", PRODUCER_REPLACED)
            return True
        if self._pending and self._stalled():
            self._replace(
                f"nothing was confirmed for {self.wedge_timeout:g}s while "
                f"{len(self._pending)} messages waited (wedged producer)",
                PRODUCER_REPLACED,
            )
            return True
        return False

    def _replaced_idle(self) -> ProducerLike:
        self._replace("no delivery confirmed for too long (idle, wedged)", PRODUCER_REPLACED)
        return self._fresh_producer()

    def _fresh_producer(self) -> ProducerLike:
        config = {**self.config, "error_cb": self._on_error}
        self._producer = producer = self._factory(config)
        return producer

    def _replace(self, reason: str, code: str) -> None:
        """Drop the producer; whatever it had not confirmed is handed back."""
        old, self._producer = self._producer, None
        if old is not None:
            # Purge, then serve the purge reports: messages purged from the queue are
            # reported as certainly not written, which is worth knowing.
            with contextlib.suppress(Exception):
                old.purge(True, True, True)
            with contextlib.suppress(Exception):
                old.poll(0)
        if self._pending:
            _log.warning(
                "replacing the Kafka producer (%s); handing back %d messages",
                reason,
                len(self._pending),
            )
        self._hand_back_all(f"{reason}; the producer was replaced", code)
        self._fatal = None
        self._stall_since = None
        self.replacements += 1

    def _hand_back_all(self, reason: str, code: str) -> None:
        maybe, retriable = classify(code)
        self._result.handed_back.extend(
            HandedBack(message, reason, code, maybe, retriable)
            for message in self._pending.values()
        )
        self._pending.clear()


__all__ = [
    "DEFAULT_PRODUCER_CONFIG",
    "DEFAULT_QUEUE_TIMEOUT",
    "DEFAULT_WEDGE_TIMEOUT",
    "INSTALL_HINT",
    "NOT_SETTLED",
    "NOT_WRITTEN",
    "PRODUCER_REPLACED",
    "QUEUE_FULL",
    "TERMINAL",
    "BusMessage",
    "Confirmed",
    "HandedBack",
    "KafkaSink",
    "ProducerFactory",
    "ProducerLike",
    "SendResult",
    "classify",
    "confluent_producer",
]
