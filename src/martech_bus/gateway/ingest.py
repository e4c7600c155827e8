"""The gateway's ingest rules, without a web framework: what to answer, and what to buffer.

The Starlette app (``app.py``) and the Lambda handler (``lambda_handler.py``)
only translate requests into ``RequestHead`` + body bytes and ``Reply`` back,
so both behave the same. A request goes through, in order:

1. ``resolve``: the route (404 unknown path or source, 405 wrong method);
2. ``check``, before the body is read: bearer token for ``/v1/events`` (401; in
   development mode, without tokens, only loopback clients: 403), a declared
   ``Content-Length`` over the limit (413), the content type (415);
3. ``accept``, with the body: ``admit`` checks its real size (413), the
   source's signature on the raw bytes (401), JSON and the request shape (400);
   then ``append`` to the buffer, and only once that returned (durable) ``settle``
   answers ``202``. ``store`` buffers several admitted requests at once: the
   Starlette app gathers concurrent requests into one commit that way.

Nothing is buffered for any 4xx. A buffer that cannot take the record answers
503 with ``Retry-After`` (the client sends again; nothing was acknowledged).
Canonical events are not validated here (the drainer's pipeline does), but each
must carry its ``event_id``, which the 202 returns. A vendor payload is kept as
its raw bytes and the 202 returns the buffer record id.
"""

from __future__ import annotations

import gc
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from martech_bus.awsapi import StoreError, TransientStoreError
from martech_bus.buffer.base import AppendOutcome, Incoming, InvalidRecordError
from martech_bus.errors import ConfigError, TransientError
from martech_bus.gateway.auth import BearerAuth, is_loopback
from martech_bus.gateway.metrics import INTEGRATION
from martech_bus.gateway.signatures import NoSecretError, SignatureError
from martech_bus.gateway.sources import CANONICAL, HEADER_PREFIX, InboundSource

if TYPE_CHECKING:
    from martech_bus.buffer.base import BufferStore
    from martech_bus.gateway.expiry import ExpiryMonitor
    from martech_bus.observability.metrics import Metrics
    from martech_bus.secrets import SecretResolver

logger = logging.getLogger("martech_bus.gateway")

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
EVENTS_PATH: Final = "/v1/events"
SOURCES_PREFIX: Final = "/v1/sources/"
HEALTH_PATH: Final = "/healthz"
METRICS_PATH: Final = "/metrics"
RETRY_AFTER: Final = "1"
_MAX_EVENT_ID: Final = 256  # an id is a UUID; anything this long is not one
_GET_ROUTES: Final = {HEALTH_PATH: "healthz", METRICS_PATH: "metrics"}
_UNKNOWN: Final = "unknown"  # the metrics route label for paths that match nothing


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What is known before the body is read; header names are lower-case."""

    method: str
    path: str
    headers: Mapping[str, str]
    client: str | None = None

    @classmethod
    def of(
        cls,
        method: str,
        path: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        client: str | None = None,
    ) -> RequestHead:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        return cls(method.upper(), path, {k.lower(): v for k, v in pairs}, client)


@dataclass(frozen=True, slots=True)
class Reply:
    """A JSON answer (``text`` instead for ``/metrics``)."""

    status: int
    body: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None

    def content(self) -> bytes:
        if self.text is not None:
            return self.text.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @property
    def content_type(self) -> str:
        if self.text is not None:
            from martech_bus.observability.prometheus import CONTENT_TYPE

            return CONTENT_TYPE
        return "application/json"


@dataclass(frozen=True, slots=True)
class Admitted:
    """A request that passed every check: the record to buffer, and what its 202 will say."""

    route: str  # ``canonical`` or the source name (the metrics label)
    record: Incoming
    event_ids: tuple[str, ...] = ()  # canonical requests: the ids the 202 returns


def error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> Reply:
    """``{"error": code, "message": message, ...}``."""
    return Reply(status, {"error": code, "message": message, **extra}, headers or {})


class Gateway:
    """Accepts canonical events and vendor payloads into ``buffer``; see the module docstring.

    ``local_only``: without tokens, accept ``/v1/events`` from loopback clients
    (``gateway serve``'s development mode); False refuses it instead (Lambda).
    ``extra_metrics``: other registries ``/metrics`` shows too (an in-process drainer's pipeline).
    """

    def __init__(
        self,
        buffer: BufferStore,
        sources: Mapping[str, InboundSource] | None = None,
        *,
        auth: BearerAuth | None = None,
        secrets: SecretResolver | None = None,
        clock: Callable[[], float] = time.time,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        metrics: Metrics | None = None,
        extra_metrics: Sequence[Metrics] = (),
        expiry: ExpiryMonitor | None = None,
        local_only: bool = True,
    ) -> None:
        if max_body_bytes < 1:
            raise ConfigError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
        from martech_bus.gateway.metrics import gateway_metrics

        self.buffer = buffer
        self.sources = dict(sources or {})
        self.auth = auth or BearerAuth()
        self._secrets = secrets
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics or gateway_metrics()
        self.extra_metrics = tuple(extra_metrics)
        self.expiry = expiry
        self.local_only = local_only

    @property
    def secrets(self) -> SecretResolver:
        if self._secrets is None:
            from martech_bus.secrets import SecretResolver

            self._secrets = SecretResolver()
        return self._secrets

    # -- the three steps ------------------------------------------------------------------------

    def resolve(self, method: str, path: str) -> str | Reply:
        """The route: ``canonical``, a source name, ``healthz`` or ``metrics``; else a 404/405."""
        method = method.upper()
        if path in _GET_ROUTES:
            allowed = "GET"
            target = _GET_ROUTES[path]
        elif path == EVENTS_PATH:
            allowed, target = "POST", CANONICAL
        elif path.startswith(SOURCES_PREFIX) and "/" not in path[len(SOURCES_PREFIX) :]:
            name = path[len(SOURCES_PREFIX) :]
            if name not in self.sources:
                known = ", ".join(sorted(self.sources)) or "none"
                return self._count(
                    _UNKNOWN,
                    error(
                        404,
                        "unknown_source",
                        f"no inbound source {name[:100]!r} is declared (known: {known})",
                    ),
                )
            allowed, target = "POST", name
        else:
            return self._count(
                _UNKNOWN,
                error(
                    404,
                    "not_found",
                    f"no route {path[:200]!r}; POST {EVENTS_PATH} or {SOURCES_PREFIX}<source>",
                ),
            )
        if method != allowed and not (allowed == "GET" and method == "HEAD"):
            return self._count(
                target,
                error(405, "method_not_allowed", f"{path} takes {allowed}", {"Allow": allowed}),
            )
        return target

    def check(self, target: str, head: RequestHead) -> Reply | None:
        """Everything decidable from the headers; None when the body may be read."""
        if self.expiry is not None:
            self.expiry.tick()
        if target == CANONICAL:
            refused = self._authorize(head)
            if refused is not None:
                return self._count(target, refused)
        declared = head.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return self._count(
                    target, error(400, "bad_request", "Content-Length is not a number")
                )
            if int(declared) > self.max_body_bytes:
                return self._count(target, self._too_large())
        media = head.headers.get("content-type", "")
        kind, _, params = media.partition(";")
        charset = _param(params, "charset")
        if kind.strip().lower() != "application/json" or charset not in (None, "utf-8", "utf8"):
            return self._count(
                target,
                error(
                    415,
                    "unsupported_media_type",
                    f"send Content-Type: application/json (UTF-8), got {media[:100]!r}",
                ),
            )
        return None

    def accept(self, target: str, head: RequestHead, body: bytes) -> Reply:
        """Check the body and buffer it; 202 only once ``append`` returned."""
        admitted = self.admit(target, head, body)
        if isinstance(admitted, Reply):
            return admitted
        outcome: AppendOutcome
        try:
            [outcome] = self.buffer.append([admitted.record])
        except (InvalidRecordError, StoreError) as exc:
            outcome = exc
        return self.settle(admitted, outcome)

    def admit(self, target: str, head: RequestHead, body: bytes) -> Admitted | Reply:
        """Check the body: what to buffer, or the refusal (counted). Buffers nothing.

        Canonical events: CPU only. Source payloads: resolving a signing secret may
        go over the network (Secrets Manager, SSM) the first time.
        """
        if len(body) > self.max_body_bytes:
            return self._count(target, self._too_large())
        if not body:
            return self._count(target, error(400, "bad_request", "the request body is empty"))
        if target == CANONICAL:
            admitted = self._admit_events(head, body)
        else:
            admitted = self._admit_payload(self.sources[target], head, body)
        return self._count(target, admitted) if isinstance(admitted, Reply) else admitted

    def store(self, admitted: Sequence[Admitted]) -> list[Reply]:
        """Buffer admitted requests together (``BufferStore.append_each``); their answers, in order.

        Durable when this returns; where the buffer ``shares_commits`` that took one commit.
        """
        outcomes = self.buffer.append_each([a.record for a in admitted])
        return [self.settle(a, o) for a, o in zip(admitted, outcomes, strict=True)]

    def settle(self, admitted: Admitted, outcome: AppendOutcome) -> Reply:
        """The answer once the append is over: 202 with its record id, or why it failed (counted)."""
        if isinstance(outcome, str):
            if admitted.route == CANONICAL:
                ids = list(admitted.event_ids)
                reply = Reply(202, {"accepted": len(ids), "event_ids": ids, "record_id": outcome})
            else:
                reply = Reply(202, {"record_id": outcome, "source": admitted.route})
        else:
            reply = self._append_failed(outcome)
        return self._count(admitted.route, reply)

    def failed(self, admitted: Admitted) -> Reply:
        """500 (counted) for a request whose append failed with an unexpected error."""
        return self._count(
            admitted.route,
            error(
                500,
                "internal_error",
                "unexpected error; nothing was acknowledged, send the request again",
            ),
        )

    def handle(self, head: RequestHead, body: bytes) -> Reply:
        """``resolve`` + ``check`` + ``accept`` (or the health and metrics answers) in one call."""
        target = self.resolve(head.method, head.path)
        if isinstance(target, Reply):
            return target
        if target == "healthz":
            return self.health()
        if target == "metrics":
            return Reply(200, text=self.metrics_text())
        return self.check(target, head) or self.accept(target, head, body)

    # -- health and metrics ----------------------------------------------------------------------

    def health(self) -> Reply:
        """200 with the buffer depth; 503 when the buffer cannot answer."""
        try:
            depth = self.buffer.depth()
        except Exception as exc:  # any backend failure means "not healthy", whatever its type
            logger.warning("health check: the buffer does not answer: %s", exc)
            return error(
                503, "unavailable", "the buffer does not answer", {"Retry-After": RETRY_AFTER}
            )
        expired = [source.name for source in self.expiry.expired()] if self.expiry else []
        return Reply(200, {"status": "ok", "buffer_depth": depth, "expired_sources": expired})

    def metrics_text(self) -> str:
        """Prometheus text: the gateway's metrics (buffer gauges refreshed now) and any extra."""
        from martech_bus.gateway.metrics import merged
        from martech_bus.observability.prometheus import to_prometheus

        try:
            labels = {"integration": INTEGRATION}
            self.metrics.set_gauge("buffer_depth", self.buffer.depth(), **labels)
            age = self.buffer.oldest_age()
            self.metrics.set_gauge(
                "buffer_oldest_age_ms", 0.0 if age is None else age * 1000, **labels
            )
        except Exception as exc:  # metrics must still be served when the buffer is down
            logger.warning("metrics: the buffer does not answer: %s", exc)
        if self.expiry is not None:
            self.expiry.update_metrics()
        snapshots = [self.metrics.snapshot(), *(m.snapshot() for m in self.extra_metrics)]
        return to_prometheus(merged(snapshots))

    # -- the routes ---------------------------------------------------------------------------

    def _authorize(self, head: RequestHead) -> Reply | None:
        if self.auth.configured:
            reason = self.auth.check(head.headers.get("authorization"))
            if reason is None:
                return None
            return error(
                401, "unauthorized", reason, {"WWW-Authenticate": 'Bearer realm="martech-bus"'}
            )
        if not self.local_only:
            return error(
                403,
                "forbidden",
                "POST /v1/events needs MARTECH_BUS_GATEWAY_TOKENS to be configured",
            )
        if not is_loopback(head.client):
            return error(
                403,
                "forbidden",
                "development mode (no MARTECH_BUS_GATEWAY_TOKENS): only local clients may post events",
            )
        return None

    def _admit_events(self, head: RequestHead, body: bytes) -> Admitted | Reply:
        from martech_bus.aws.sources import BadRequestError

        try:
            with _collector_paused():
                ids, missing, count = _event_ids(body)
        except BadRequestError as exc:
            return error(400, "bad_request", str(exc))
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (", ..." if len(missing) > 20 else "")
            return error(
                400,
                "bad_request",
                f"every event needs an event_id (a UUID string); missing or not text at index {shown}",
                invalid=missing[:100],
            )
        meta = self._meta(head, CANONICAL)
        meta["events"] = str(count)
        return Admitted(CANONICAL, Incoming(CANONICAL, body, meta), tuple(ids))

    def _admit_payload(
        self, source: InboundSource, head: RequestHead, body: bytes
    ) -> Admitted | Reply:
        secrets = self._signing_secrets(source)
        try:
            source.verifier.verify(body, head.headers, secrets, self.clock())
        except NoSecretError as exc:
            logger.error("source %s: %s; check its secret references", source.name, exc.message)
            return error(
                503,
                "unavailable",
                f"source {source.name!r} cannot check signatures right now",
                {"Retry-After": "60"},
            )
        except SignatureError as exc:
            return error(401, "invalid_signature", exc.message)
        from martech_bus.gateway.normalizer import NotJsonError, loads

        try:
            loads(body)  # the shape is the normalizer's business; only JSON is checked here
        except NotJsonError as exc:
            return error(400, "bad_request", f"the body is not valid JSON: {exc}")
        meta = self._meta(head, source.name)
        meta["signature"] = source.signature.scheme
        for name in source.kept_headers:
            value = head.headers.get(name)
            if value is not None:
                meta[HEADER_PREFIX + name] = value[:1000]
        return Admitted(source.name, Incoming(source.name, body, meta))

    def _signing_secrets(self, source: InboundSource) -> list[bytes]:
        found: list[bytes] = []
        for ref in source.signature.secrets:
            try:
                found.append(self.secrets.resolve(ref).reveal().encode("utf-8"))
            except (ConfigError, TransientError) as exc:
                # During a rotation one reference may be unset on purpose; the others still work.
                logger.debug("source %s: secret %s is not available: %s", source.name, ref, exc)
        return found

    def _meta(self, head: RequestHead, route: str) -> dict[str, str]:
        request_id = head.headers.get("x-request-id") or uuid.uuid4().hex
        return {
            "route": route,
            "content_type": head.headers.get("content-type", "")[:200],
            "request_id": request_id[:200],
        }

    def _append_failed(self, exc: InvalidRecordError | StoreError) -> Reply:
        if isinstance(exc, InvalidRecordError):  # e.g. larger than an SQS message may be
            return error(
                413, "payload_too_large", f"the buffer refuses this payload: {exc.message}"
            )
        if isinstance(exc, TransientStoreError):
            logger.warning("buffer append failed (will be retried by the client): %s", exc)
            return error(
                503,
                "unavailable",
                "the buffer is not available; send the request again",
                {"Retry-After": RETRY_AFTER},
            )
        logger.error("buffer append failed: %s", exc)
        return error(
            503,
            "unavailable",
            "the buffer refused the write; send the request again later",
            {"Retry-After": "30"},
        )

    def too_large(self, target: str) -> Reply:
        """413 for a body found over the limit while it was being read."""
        return self._count(target, self._too_large())

    def _too_large(self) -> Reply:
        return error(
            413, "payload_too_large", f"the body is larger than {self.max_body_bytes} bytes"
        )

    def _count(self, route: str, reply: Reply) -> Reply:
        self.metrics.increment(
            "gateway_requests", integration=INTEGRATION, route=route, status=str(reply.status)
        )
        return reply


def _event_ids(body: bytes) -> tuple[list[str], list[int], int]:
    """The event ids in a canonical body, the indexes of events without one, and the event count."""
    from martech_bus.aws.sources import body_events

    events = body_events(body)
    ids: list[str] = []
    missing: list[int] = []
    for index, event in enumerate(events):
        event_id = event.get("event_id") if isinstance(event, dict) else None
        if isinstance(event_id, str) and event_id.strip() and len(event_id) <= _MAX_EVENT_ID:
            ids.append(event_id)
        else:
            missing.append(index)
    return ids, missing, len(events)  # the parsed events are freed here, by reference counting


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a body is parsed (and freed again).

    A JSON tree has no reference cycles, so there is nothing to collect in it. But a
    batch of 100 events is ~5,000 containers: collections triggered mid-parse find
    them alive and promote them, and the oldest generation then grows fast enough
    to force full collections of the whole heap (in the gateway benchmark, batches
    of 100: 33 of 10-40 ms each in 12 s; 2 with the collector paused here).
    Threads racing here can only re-enable it early.
    """
    if not gc.isenabled():  # someone turned it off: not ours to turn on
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _param(params: str, name: str) -> str | None:
    for part in params.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"').lower()
    return None


__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "EVENTS_PATH",
    "HEALTH_PATH",
    "METRICS_PATH",
    "SOURCES_PREFIX",
    "Admitted",
    "Gateway",
    "Reply",
    "RequestHead",
    "error",
]
