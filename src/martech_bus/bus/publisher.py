"""The bus publisher: canonical events -> validated datum -> Avro wire bytes -> Kafka.

``BusPublisher.publish(events)`` validates each event against the catalogue
(``validate_event``: schema chosen by ``event_type`` / ``schema_version``),
encodes it in the Confluent wire format with the registry's schema id, and hands a
ready-made message (topic, key, CloudEvents headers, value) to the Kafka sink. It
returns a ``PublishReport``: confirmed events with topic / partition / offset,
rejected events with their validation problems, and events the bus did not
confirm, handed back with the reason (``resend`` sends the same bytes again).

- Topic: ``TopicRouter`` (one per event and major schema version).
- Key: ``user_id``, else ``anonymous_id`` (UTF-8), so one user's events keep their
  order within a partition. An event with neither (a schema without identity
  fields) gets no key.
- Schema ids: the embedded registry's, or a Confluent-compatible registry's when
  one is configured (``MARTECH_BUS_SCHEMA_REGISTRY_URL``), via ``sync_to_confluent``.

Per schema version, validation and Avro encoding run as one generated function
(``martech_bus.schema.fastpath``) that writes the wire bytes without building the
datum; when it is not sure about an event, the event takes ``validate_event`` and
the codec, which also explain what is wrong with it. Both give the same bytes. The
function is built once a schema version has had ``FUSE_AFTER`` events, so a cold
start publishing a few events does not pay for compiling it.

Delivery is at least once: an event handed back as ``maybe_delivered`` may be on
the topic already, and re-sending it can duplicate it. Consumers dedupe by
``event_id`` (the ``ce_id`` header).

In a Lambda, use ``publish(events, wait=False)`` per batch and plug
``publisher.flush`` into ``martech_bus.aws.make_handler(flush=...)``: it waits for
every delivery report and raises ``BusFlushError`` if anything is left unconfirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from martech_bus.bus.headers import HeaderBuilder
from martech_bus.bus.topics import (
    BusConfig,
    TopicRouter,
    load_bus_config,
    resolve_bootstrap,
)
from martech_bus.config import Paths, setting
from martech_bus.errors import (
    CodecError,
    ConfigError,
    Location,
    MartechBusError,
    Problem,
    TransientDeliveryError,
    ValidationError,
)
from martech_bus.sinks.kafka import BusMessage, HandedBack, KafkaSink, SendResult

if TYPE_CHECKING:
    from martech_bus.schema.codec import AvroCodec
    from martech_bus.schema.confluent import RegistryClient
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry
    from martech_bus.schema.validate import Shape

SCHEMA_REGISTRY_SETTING: Final = "schema_registry_url"  # MARTECH_BUS_SCHEMA_REGISTRY_URL
_USER_ID: Final = "user_id"
_ANONYMOUS_ID: Final = "anonymous_id"
_CHUNK: Final = 500  # messages handed to the producer at once
_new_tuple: Final = tuple.__new__
#: Datum values the fused encoder returns with the bytes: what the key and headers need.
_EXPORTS: Final = ("event_id", "source", "occurred_at", "traceparent", _USER_ID, _ANONYMOUS_ID)
#: Events of one schema version published the general way before the fused path is built.
FUSE_AFTER: Final = 64


# --------------------------------------------------------------------------- the report


class Published(NamedTuple):
    """An event the bus confirmed (a tuple: one is made per event, cheaply)."""

    event_id: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event that was not published because it is invalid (sending it again will not help)."""

    index: int  # position in the ``publish`` input
    event_id: str | None
    error: MartechBusError

    @property
    def problems(self) -> list[Problem]:
        return self.error.problems or [Problem(self.error.message, self.error.location)]


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """An event the bus did not confirm, handed back to the caller."""

    event_id: str
    topic: str
    reason: str
    code: str
    #: The broker may hold it anyway: re-sending can duplicate (consumers dedupe by event_id).
    maybe_delivered: bool
    #: Sending it again may succeed.
    retriable: bool
    #: The exact record (topic, key, headers, value), for ``BusPublisher.resend``.
    message: BusMessage


@dataclass(slots=True)
class PublishReport:
    """What became of the events: confirmed, rejected (invalid) or handed back (unconfirmed).

    ``confirmed`` and ``failed`` list what settled during the call; with
    ``wait=False`` that may include events from earlier calls, and ``pending``
    counts what is still in flight.
    """

    confirmed: list[Published] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    failed: list[Unconfirmed] = field(default_factory=list)
    pending: int = 0

    @property
    def ok(self) -> bool:
        """Everything was confirmed: nothing rejected, handed back or still in flight."""
        return not (self.rejected or self.failed or self.pending)

    def resendable(self) -> list[Unconfirmed]:
        """The handed-back events worth sending again (``BusPublisher.resend`` takes them)."""
        return [item for item in self.failed if item.retriable]

    def merge(self, other: PublishReport) -> PublishReport:
        """Both reports' entries in one (``pending`` from ``other``, the later one)."""
        return PublishReport(
            self.confirmed + other.confirmed,
            self.rejected + other.rejected,
            self.failed + other.failed,
            other.pending,
        )

    def summary(self) -> str:
        parts = [f"{len(self.confirmed)} confirmed"]
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected (invalid)")
        if self.failed:
            parts.append(f"{len(self.failed)} not confirmed")
        if self.pending:
            parts.append(f"{self.pending} in flight")
        return ", ".join(parts)


class BusFlushError(TransientDeliveryError):
    """Events were left unconfirmed when the publisher was flushed; ``unconfirmed`` lists them."""

    def __init__(self, unconfirmed: Sequence[Unconfirmed], report: PublishReport) -> None:
        self.unconfirmed = list(unconfirmed)
        self.report = report
        shown = [
            Problem(f"{item.topic}: {item.reason}", Location(event_id=item.event_id))
            for item in self.unconfirmed[:10]
        ]
        more = len(self.unconfirmed) - len(shown)
        if more > 0:
            shown.append(Problem(f"... and {more} more"))
        super().__init__(
            f"{len(self.unconfirmed)} events were not confirmed by the bus (send them again; "
            "consumers dedupe by event_id)",
            problems=shown,
        )


# --------------------------------------------------------------------------- per schema version


Fused = Callable[[dict[str, Any]], "tuple[Any, ...] | None"]


@dataclass(slots=True)
class _Plan:
    """Everything constant about publishing one schema version (built on first use)."""

    entry: RegisteredSchema
    topic: str
    headers: HeaderBuilder
    #: Validation + encoding in one (see the module docstring); None: the general path.
    fused: Fused | None = None
    #: Events until ``fused`` is compiled: a few milliseconds, worth it for a stream of
    #: events, not for a cold start publishing a handful. 0: compiled, or never will be.
    until_fused: int = 0


def _fusable(entry: RegisteredSchema) -> bool:
    """Whether the fused encoder's exports are what the headers need (the canonical envelope)."""
    from martech_bus.schema.validate import validator_for

    kinds = {name: _kind(shape) for name, shape, _ in validator_for(entry).shape.fields}
    return (
        kinds.get("event_id") in ("uuid", "string")
        and kinds.get("source") == "string"
        and kinds.get("occurred_at") == "timestamp"
        and kinds.get("traceparent", "string") in ("string", "string?")
    )


def _kind(shape: Shape) -> str:
    """A field's kind; ``"<kind>?"`` for a union of null and that kind."""
    if shape.kind == "union":
        others = [b.kind for b in shape.branches if b.kind != "null"]
        nullable = len(others) < len(shape.branches)
        return f"{others[0]}?" if len(others) == 1 and nullable else "union"
    return shape.kind


def _key(user_id: Any, anonymous_id: Any) -> bytes | None:
    """``user_id``, else ``anonymous_id``: the first that is a non-blank string."""
    for value in (user_id, anonymous_id):
        if type(value) is str and value and not value.isspace():
            return value.encode()
    return None


# --------------------------------------------------------------------------- the publisher


class BusPublisher:
    """Publishes canonical events to the bus; see the module docstring.

    ``sink`` is a ``KafkaSink`` (inject one with a producer factory in tests).
    ``integration`` / ``mapping_version`` become headers on every record unless a
    ``publish`` call names its own. ``now`` fills a missing ``received_at``.
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        sink: KafkaSink,
        *,
        config: BusConfig | None = None,
        integration: str | None = None,
        mapping_version: int | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        from martech_bus.schema.codec import AvroCodec

        self.registry = registry
        self.sink = sink
        self.config = config or BusConfig()
        self.router = TopicRouter(registry, self.config)
        self.codec: AvroCodec = AvroCodec(registry)
        self.integration = integration
        self.mapping_version = mapping_version
        self._now = now
        self._plans: dict[tuple[int, str | None, int | None], _Plan] = {}
        # (event_type, schema_version as given) -> plan, per (integration, mapping_version);
        # valid for ``_routes_registry`` (a publisher's registry may be replaced).
        self._routes: dict[tuple[str | None, int | None], dict[tuple[str, int | None], _Plan]] = {}
        self._routes_registry: SchemaRegistry | None = None
        # Event ids handed back since the last flush and not confirmed since.
        self._unconfirmed: dict[str, Unconfirmed] = {}

    @classmethod
    def connect(
        cls,
        *,
        bootstrap: str | None = None,
        schemas_dir: str | Path | None = None,
        bus_config: str | Path | BusConfig | None = None,
        schema_registry_url: str | None = None,
        registry_client: RegistryClient | None = None,
        producer_config: Mapping[str, Any] | None = None,
        integration: str | None = None,
        mapping_version: int | None = None,
        **sink_options: Any,
    ) -> BusPublisher:
        """A publisher from settings: catalogue, bus.yaml, schema registry, bootstrap.

        Each argument falls back to its ``MARTECH_BUS_*`` setting, then the default
        (``./schemas``, ``./bus.yaml``, no central registry, ``127.0.0.1:9092``).
        ``sink_options`` go to ``KafkaSink`` (``wedge_timeout``, ``producer_factory``, ...).
        """
        from martech_bus.schema.registry import SchemaRegistry

        config = bus_config if isinstance(bus_config, BusConfig) else load_bus_config(bus_config)
        registry = SchemaRegistry.load(Paths.resolve(schemas_dir=schemas_dir).schemas_dir)
        registry = central_ids(registry, config, url=schema_registry_url, client=registry_client)
        sink = KafkaSink(producer_config, bootstrap=resolve_bootstrap(bootstrap), **sink_options)
        return cls(
            registry,
            sink,
            config=config,
            integration=integration,
            mapping_version=mapping_version,
        )

    # -- publishing -----------------------------------------------------------------------

    def topic_for(self, event_type: str, version: int | None = None) -> str:
        """The topic an event of this type and schema version (default latest) goes to."""
        entry = self.registry.get(event_type, version)
        return self.router.topic_of(entry)

    def publish(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        wait: bool = True,
        timeout: float | None = None,
        integration: str | None = None,
        mapping_version: int | None = None,
        extra_headers: Sequence[list[tuple[str, bytes]] | None] | None = None,
    ) -> PublishReport:
        """Validate, encode and produce ``events``; with ``wait`` also wait for every confirmation.

        ``wait=False`` returns as soon as everything is enqueued, with what has
        settled so far; ``flush()`` waits for the rest. ``timeout`` bounds the wait
        (default: the sink's ``message.timeout.ms`` plus a margin). ``extra_headers``,
        aligned with ``events`` (ValueError unless the lengths match), appends headers
        to each event's record (None: nothing extra).
        """
        from martech_bus.schema.validate import filled_event, validate_event

        if extra_headers is not None:
            events = list(events)
            if len(extra_headers) != len(events):
                raise ValueError(
                    f"extra_headers has {len(extra_headers)} entries for {len(events)} events"
                )
        integration = self.integration if integration is None else integration
        mapping_version = self.mapping_version if mapping_version is None else mapping_version
        routes = self._routes_for(integration, mapping_version)
        plans = self._plans
        registry = self.registry
        encode = self.codec.encode
        put_all = self.sink.put_all
        take = self.sink.take
        now = self._now
        report = PublishReport()
        rejected = report.rejected
        message, new = BusMessage, _new_tuple
        # Messages go to the producer in chunks: a burst of produce() calls finds the
        # producer's queue busy and wakes its I/O thread far less often than a trickle
        # (about half the cost per message, measured in benchmarks/bench_publish.py).
        chunk: list[BusMessage] = []
        try:
            for index, event in enumerate(events):
                extra = None if extra_headers is None else extra_headers[index]
                given: Mapping[str, Any] = event
                # The fused path (see the module docstring); anything it is not sure about
                # continues below, with the same input.
                if type(event) is dict:
                    event_type = event.get("event_type")
                    version = event.get("schema_version")
                    if type(event_type) is str and (version is None or type(version) is int):
                        plan = routes.get((event_type, version)) or self._route(
                            routes, event_type, version, integration, mapping_version
                        )
                        if plan is not None and (fused := plan.fused) is not None:
                            if version is None or event.get("received_at") is None:
                                given = filled_event(event, plan.entry.version, now)
                            out = fused(given)  # type: ignore[arg-type]
                            if out is not None:
                                value, event_id, source, occurred, trace, user_id, anon_id = out
                                headers = plan.headers.make(
                                    event_id, source, occurred, trace, event.get("occurred_at")
                                )
                                if extra:
                                    headers += tuple(extra)
                                key = _key(user_id, anon_id)
                                chunk.append(
                                    new(message, (plan.topic, value, key, headers, event_id))
                                )
                                if len(chunk) >= _CHUNK:
                                    ready, chunk = chunk, []
                                    put_all(ready)
                                    self._absorb(report, take())
                                continue
                try:
                    entry, datum = validate_event(registry, given, now=now)
                    plan = plans.get((id(entry), integration, mapping_version))
                    if plan is None:
                        plan = self._plan(entry, integration, mapping_version)
                    value = encode(datum, entry.subject, entry.version)
                except (ValidationError, CodecError) as exc:
                    rejected.append(Rejected(index, _event_id(event), exc))
                    continue
                if plan.until_fused:
                    self._warm(plan)
                event_id = datum["event_id"]
                headers = plan.headers.make(
                    event_id, datum["source"], datum["occurred_at"], datum.get("traceparent")
                )
                if extra:
                    headers += tuple(extra)
                chunk.append(
                    message(
                        plan.topic,
                        value,
                        _key(datum.get(_USER_ID), datum.get(_ANONYMOUS_ID)),
                        headers,
                        event_id,  # the message's ref: all a report needs
                    )
                )
                if len(chunk) >= _CHUNK:
                    ready, chunk = chunk, []
                    put_all(ready)
                    # Collect what settled meanwhile: the report keeps ids and offsets,
                    # the sink can let go of the records (less for the GC to walk).
                    self._absorb(report, take())
        finally:
            # Even when the input iterator raises: what was built is produced, and its
            # outcomes arrive with the next settle (publish, flush or close).
            ready, chunk = chunk, []
            put_all(ready)
        self._absorb(report, self.sink.settle(timeout) if wait else self.sink.poll())
        report.pending = self.sink.pending
        return report

    def resend(
        self, failed: Iterable[Unconfirmed], *, wait: bool = True, timeout: float | None = None
    ) -> PublishReport:
        """Produce handed-back records again, byte for byte (same topic, key, headers, value)."""
        for item in failed:
            self.sink.put(item.message)
        result = self.sink.settle(timeout) if wait else self.sink.poll()
        return self._report(result)

    def flush(self, timeout: float | None = None) -> PublishReport:
        """Wait for every delivery report; raise ``BusFlushError`` if any event is left unconfirmed.

        "Unconfirmed" covers every event handed back since the previous flush and
        not confirmed since (by a re-send), so a Lambda handler cannot return while
        an event is unaccounted for. Invalid (rejected) events do not count: sending
        them again cannot help. The error carries the unconfirmed events; the
        publisher forgets them.
        """
        report = self._report(self.sink.settle(timeout))
        if self._unconfirmed:
            left, self._unconfirmed = list(self._unconfirmed.values()), {}
            raise BusFlushError(left, report)
        return report

    def close(self, timeout: float | None = None) -> PublishReport:
        """Flush (without raising) and drop the producer."""
        return self._report(self.sink.close(timeout))

    def __enter__(self) -> BusPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------

    def _routes_for(
        self, integration: str | None, mapping_version: int | None
    ) -> dict[tuple[str, int | None], _Plan]:
        if self._routes_registry is not self.registry:
            self._routes.clear()
            self._routes_registry = self.registry
        return self._routes.setdefault((integration, mapping_version), {})

    def _route(
        self,
        routes: dict[tuple[str, int | None], _Plan],
        event_type: str,
        version: int | None,
        integration: str | None,
        mapping_version: int | None,
    ) -> _Plan | None:
        """The plan for events naming (``event_type``, ``version``); None if the registry has none."""
        from martech_bus.errors import UnknownSchemaError

        try:
            entry = self.registry.get(event_type, version)
        except UnknownSchemaError:
            return None  # validate_event explains it
        plan = self._plans.get((id(entry), integration, mapping_version))
        if plan is None:
            plan = self._plan(entry, integration, mapping_version)
        routes[(event_type, version)] = plan
        return plan

    def _plan(
        self, entry: RegisteredSchema, integration: str | None, mapping_version: int | None
    ) -> _Plan:
        plan = _Plan(
            entry,
            self.router.topic_of(entry),
            HeaderBuilder(
                event_type=entry.subject,
                subject=entry.subject,
                version=entry.version,
                fingerprint=entry.fingerprints.sha256,
                source_prefix=self.config.source_prefix,
                type_prefix=self.config.type_prefix,
                integration=integration,
                mapping_version=mapping_version,
            ),
            until_fused=FUSE_AFTER if _fusable(entry) else 0,
        )
        self._plans[(id(entry), integration, mapping_version)] = plan
        return plan

    def _warm(self, plan: _Plan) -> None:
        """Count an event published the general way; build the fused path when it is time."""
        plan.until_fused -= 1
        if plan.until_fused == 0:
            plan.fused = self.codec.validating_encoder(plan.entry, _EXPORTS)

    def _report(self, result: SendResult) -> PublishReport:
        report = PublishReport()
        self._absorb(report, result)
        report.pending = self.sink.pending
        return report

    def _absorb(self, report: PublishReport, result: SendResult) -> None:
        """Add the sink's outcomes to ``report``; track what stays unconfirmed for ``flush``."""
        unconfirmed = self._unconfirmed
        append = report.confirmed.append
        new = _new_tuple  # one per event: a NamedTuple's own __new__ is Python code
        for message, partition, offset in result.confirmed:
            event_id = message.ref
            append(new(Published, (event_id, message.topic, partition, offset)))
            if unconfirmed:
                unconfirmed.pop(event_id, None)
        for item in result.handed_back:
            failed = _unconfirmed(item)
            report.failed.append(failed)
            unconfirmed[failed.event_id] = failed


def _unconfirmed(item: HandedBack) -> Unconfirmed:
    return Unconfirmed(
        item.message.ref,
        item.message.topic,
        item.reason,
        item.code,
        item.maybe_delivered,
        item.retriable,
        item.message,
    )


def _event_id(event: Any) -> str | None:
    value = event.get("event_id") if isinstance(event, Mapping) else None
    return value if isinstance(value, str) else None


# --------------------------------------------------------------------------- schema ids


def central_ids(
    registry: SchemaRegistry,
    config: BusConfig | None = None,
    *,
    url: str | None = None,
    client: RegistryClient | None = None,
    register: bool = True,
) -> SchemaRegistry:
    """``registry`` with a Confluent-compatible registry's ids, when one is configured.

    ``client`` wins; else ``url`` or ``MARTECH_BUS_SCHEMA_REGISTRY_URL`` makes one
    (``mock://...`` gives confluent-kafka's in-memory mock); with neither, the
    embedded ids stay. Subjects follow ``config.subject_strategy``.
    """
    from martech_bus.schema import confluent

    if client is None:
        url = setting(SCHEMA_REGISTRY_SETTING, url)
        if not url:
            return registry
        client = registry_client(url)
    router = TopicRouter(registry, config)
    strategy = router.config.subject_strategy
    subject_name: Callable[[RegisteredSchema], str]
    if strategy == "record":
        subject_name = confluent.record_subject
    elif strategy == "topic_record":

        def subject_name(entry: RegisteredSchema) -> str:
            return confluent.topic_record_subject(router.topic_of(entry), entry)
    else:

        def subject_name(entry: RegisteredSchema) -> str:
            return confluent.topic_subject(router.topic_of(entry))

    return confluent.sync_to_confluent(
        registry, client, subject_name=subject_name, register=register
    )


def registry_client(url: str) -> RegistryClient:
    """A ``SchemaRegistryClient`` for ``url`` (``mock://`` URLs give the in-memory mock)."""
    from martech_bus.schema.confluent import INSTALL_HINT

    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError:
        raise ConfigError(f"a schema registry needs confluent-kafka: {INSTALL_HINT}") from None
    client: RegistryClient = SchemaRegistryClient.new_client({"url": url})
    return client


__all__ = [
    "SCHEMA_REGISTRY_SETTING",
    "BusFlushError",
    "BusPublisher",
    "PublishReport",
    "Published",
    "Rejected",
    "Unconfirmed",
    "central_ids",
    "registry_client",
]
