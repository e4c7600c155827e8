"""Wire an adapter folder into a running pipeline: manifest -> HTTP sink -> vendor route -> Pipeline.

This is the one place that turns declarations (``adapter.yaml``) into live
objects (an ``HttpSink`` with its retry policy, token bucket, circuit breaker
and secrets), so every entry point — a Lambda handler, the gateway's drainer,
the bus connector, ``martech-bus dlq replay`` — delivers the same way.

Expensive, shareable parts (the schema registry, the httpx client, secrets,
the stores) live in a ``Runtime`` built once per process; a Lambda container
keeps it warm between invocations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from martech_bus.pipeline import BUS, Pipeline, RetryLater, VendorRoute

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter
    from martech_bus.bus.publisher import BusPublisher
    from martech_bus.idempotency.base import IdempotencyStore
    from martech_bus.observability.metrics import Metrics
    from martech_bus.retry import RemainingTime
    from martech_bus.routing.store import FlagStore
    from martech_bus.schema.registry import SchemaRegistry
    from martech_bus.secrets import SecretResolver
    from martech_bus.shadow.store import ShadowStore
    from martech_bus.sinks.base import Sink
    from martech_bus.sinks.bus import BusSink
    from martech_bus.sinks.dlq import DeadLetterStore
    from martech_bus.sinks.http import HttpClient, HttpSink

#: Connect fast, read within a Lambda-friendly bound; the retry budget caps the total.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0


def default_http_client() -> HttpClient:
    """A pooled httpx client with bounded timeouts (httpx is imported here, not at import time)."""
    from martech_bus.sinks._httpx import httpx  # without its CLI (rich, click): see there

    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Client(timeout=timeout, limits=httpx.Limits(max_connections=20))


@dataclass
class Runtime:
    """The long-lived parts every pipeline of this process shares; each is built on first use."""

    schemas_dir: Path | None = None
    adapters_dir: Path | None = None
    dlq: str | None = None  # a backend setting, see martech_bus.backends
    idempotency_setting: str | None = None
    flags_setting: str | None = None  # MARTECH_BUS_FLAGS, see martech_bus.routing
    shadow_setting: str | None = None  # MARTECH_BUS_SHADOW, see martech_bus.shadow
    kafka_bootstrap: str | None = None  # MARTECH_BUS_KAFKA_BOOTSTRAP, used on the first publish
    bus_config: str | Path | None = None  # bus.yaml (MARTECH_BUS_BUS_CONFIG): the topic convention
    client_factory: Callable[[], HttpClient] = default_http_client
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    _adapters: dict[str, Adapter] = field(default_factory=dict, repr=False)
    _sinks: dict[str, HttpSink] = field(default_factory=dict, repr=False)

    @cached_property
    def registry(self) -> SchemaRegistry:
        from martech_bus.config import Paths
        from martech_bus.schema.registry import SchemaRegistry

        return SchemaRegistry.load(Paths.resolve(schemas_dir=self.schemas_dir).schemas_dir)

    @cached_property
    def http_client(self) -> HttpClient:
        return self.client_factory()

    @cached_property
    def secrets(self) -> SecretResolver:
        from martech_bus.secrets import SecretResolver

        return SecretResolver()

    @cached_property
    def dead_letters(self) -> DeadLetterStore:
        from martech_bus.backends import dead_letter_store

        return dead_letter_store(self.dlq)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        from martech_bus.backends import idempotency_store

        return idempotency_store(self.idempotency_setting)

    @cached_property
    def flags(self) -> FlagStore:
        from martech_bus.routing.store import flag_store

        return flag_store(self.flags_setting, clock=self.clock)

    @cached_property
    def shadow(self) -> ShadowStore:
        from martech_bus.shadow.select import shadow_store

        return shadow_store(self.shadow_setting)

    @cached_property
    def bus_sink(self) -> BusSink:
        """Publishes to the bus; connects (and imports confluent-kafka) on its first publish."""
        from martech_bus.sinks.bus import BusSink

        return BusSink(self._connect_publisher)

    def _connect_publisher(self) -> BusPublisher:
        from martech_bus.bus.publisher import BusPublisher
        from martech_bus.kafka_client import client_properties

        return BusPublisher.connect(
            bootstrap=self.kafka_bootstrap,
            schemas_dir=self.schemas_dir,
            bus_config=self.bus_config,
            producer_config=client_properties(),
        )

    def close(self) -> None:
        """Flush the bus publisher, if one was made (an entry point calls this when it stops)."""
        if "bus_sink" in self.__dict__:
            self.bus_sink.close()

    @cached_property
    def metrics(self) -> Metrics:
        from martech_bus.observability.metrics import Metrics

        return Metrics()

    def adapter(self, name_or_path: str | Path) -> Adapter:
        """An adapter by folder name or path, loaded once."""
        key = str(name_or_path)
        if key not in self._adapters:
            from martech_bus.adapter.loader import resolve_adapter

            self._adapters[key] = resolve_adapter(name_or_path, self.adapters_dir)
        return self._adapters[key]

    def sink(self, adapter: Adapter) -> HttpSink:
        """The adapter's HTTP sink, one per vendor (its rate limit and breaker are per vendor)."""
        if adapter.name not in self._sinks:
            self._sinks[adapter.name] = http_sink(adapter, self)
        return self._sinks[adapter.name]

    def pipeline(
        self,
        adapters: Sequence[str | Path],
        *,
        retry_later: RetryLater = RetryLater.DEAD_LETTER,
        remaining_time: RemainingTime | None = None,
        sinks: Callable[[Adapter], Sink] | None = None,
        routed: bool = True,
        bus_retry_later: RetryLater | None = None,
    ) -> Pipeline:
        """A pipeline delivering to ``adapters`` (cheap: the heavy parts are shared).

        ``routed`` follows the migration flags (``self.flags``): each integration's
        mode decides whether it delivers directly and whether the event is published
        to the bus. The bus connector and dead-letter replay deliver unrouted.
        ``bus_retry_later`` is the publish route's policy (default: ``retry_later``).
        """
        from martech_bus.sinks.bus import BUS_VENDOR

        routes = []
        for name in adapters:
            adapter = self.adapter(name)
            sink: Sink = sinks(adapter) if sinks is not None else self.sink(adapter)
            if remaining_time is not None and isinstance(sink, _http_sink_type()):
                sink.remaining_time = remaining_time
            routes.append(vendor_route(adapter, sink))
        return Pipeline(
            self.registry,
            routes,
            self.dead_letters,
            idempotency=self.idempotency,
            retry_later=retry_later,
            now=lambda: datetime.fromtimestamp(self.clock(), UTC),
            metrics=self.metrics,
            router=self.flags.decide if routed else None,
            bus=VendorRoute(
                BUS_VENDOR,
                _nothing_mapped,
                self.bus_sink,
                route=BUS,
                retry_later=bus_retry_later,
            )
            if routed
            else None,
        )


def _nothing_mapped(event_type: str) -> None:
    """The bus route publishes canonical events: it has no vendor mapping."""
    return


def vendor_route(adapter: Adapter, sink: Sink) -> VendorRoute:
    """The pipeline route for ``adapter``: its pinned mappings, its consent rules, its sink."""
    manifest = adapter.manifest

    def mapping_for(event_type: str) -> tuple[int, Any] | None:
        version = manifest.mappings.get(event_type)
        return None if version is None else (version, adapter.mapping_for(event_type))

    return VendorRoute(
        adapter.name,
        mapping_for,
        sink,
        consent_purposes=manifest.consent.purposes,
        missing_consent_allowed=manifest.consent.missing_allowed,
        consent_for=manifest.consent.purposes_for,
    )


def http_sink(adapter: Adapter, runtime: Runtime) -> HttpSink:
    """An ``HttpSink`` built from the adapter's manifest, with secrets resolved through ``runtime``."""
    from martech_bus.ratelimit import CircuitBreaker, TokenBucket
    from martech_bus.retry import RetryPolicy
    from martech_bus.secrets import SecretRef
    from martech_bus.sinks.http import AuthSpec, ErrorIn200, HttpEndpoint, HttpSink, PartialFailure

    manifest = adapter.manifest
    request = manifest.endpoint.resolve(
        lambda ref: runtime.secrets.resolve(SecretRef.parse(ref)).reveal()
    )
    auth = manifest.endpoint.auth
    endpoint = HttpEndpoint(
        url=request.url,
        method=request.method,
        params=request.query,
        headers=request.headers,
        auth=AuthSpec(**auth.sink_settings()) if auth is not None else None,  # type: ignore[arg-type]
        build_body=adapter.body_builder(request.params),
        max_events=manifest.batch.max_events,
        max_bytes=manifest.batch.max_bytes,
        error_in_200=_as(ErrorIn200, manifest.error_in_200),
        partial_failure=_as(PartialFailure, manifest.partial_failure),
        idempotency_header=manifest.endpoint.idempotency_header,
    )
    rate = manifest.rate_limit
    return HttpSink(
        endpoint,
        runtime.http_client,
        RetryPolicy().with_overrides(**manifest.retry),
        runtime.secrets,
        TokenBucket(rate.per_second, rate.burst, clock=runtime.clock, sleep=runtime.sleep)
        if rate is not None
        else None,
        CircuitBreaker(
            manifest.circuit_breaker.failures,
            manifest.circuit_breaker.reset_seconds,
            runtime.clock,
            name=adapter.name,
        ),
        sleep=runtime.sleep,
        clock=runtime.clock,
    )


def _http_sink_type() -> type[HttpSink]:
    from martech_bus.sinks.http import HttpSink

    return HttpSink


def _as(target: Any, declared: Any) -> Any:
    """The sink's twin of a manifest dataclass (same field names), or None."""
    import dataclasses

    return None if declared is None else target(**dataclasses.asdict(declared))
