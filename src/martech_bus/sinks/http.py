"""Vendor HTTP delivery: batching, auth from secret references, retry, rate limit, circuit breaker.

One outcome per delivery, in order:

- 2xx: DELIVERED, unless a declared ``error_in_200`` rule matches the body, or a
  declared ``partial_failure`` list names the item;
- connection errors, timeouts and ``RetryPolicy.retry_statuses``: retried per the
  policy, then RETRY_LATER (the caller buffers or dead-letters; no DLQ is written here);
- any other status (501 and other 4xx, 3xx) or a terminal error: DEAD_LETTERED.

``Outcome.detail`` of a failed delivery is what a DLQ record needs (JSON-ready,
secrets replaced by ``***``); DELIVERED outcomes carry an empty detail:

- ``request``: ``{"method", "url", "headers"}``; secret query values and credential
  headers redacted; no body (the Delivery holds the payload)
- ``response``: ``{"status", "headers", "body", "body_truncated"}`` without cookie or
  auth headers, body cut to 2 KiB; None when no response came back
- ``attempts``: requests sent
- ``first_attempt_at`` / ``last_attempt_at``: epoch seconds from the injected clock
- ``error``: what went wrong, in words
- ``gave_up``: why retrying stopped while still worth retrying, else None
- ``retry_after``: seconds the vendor last asked us to wait, else None

A payload refused before sending (not JSON, over ``max_bytes``) gets only ``error``.

Once an endpoint with auth is used, a filter on httpx's and httpcore's loggers
scrubs the revealed secrets from their records (httpx logs URLs at INFO).

httpx is imported at the top: this module is only imported when HTTP delivery is used.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal, Protocol, Self, cast, get_args
from urllib.parse import quote, quote_plus, urlencode

try:
    from martech_bus.sinks._httpx import httpx  # without its CLI (rich, click): see there
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("HTTP delivery needs httpx: pip install 'martech-bus[http]'") from exc

from martech_bus.errors import ConfigError, Location, is_transient
from martech_bus.ratelimit import CircuitBreaker, CircuitOpenError, TokenBucket
from martech_bus.redaction import is_sensitive
from martech_bus.retry import Attempts, RemainingTime, RetryPolicy
from martech_bus.secrets import REDACTED, SecretRef, SecretResolver
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind
from martech_bus.sinks.http_errors import TRANSLATED, translate

logger = logging.getLogger(__name__)

Payload = Mapping[str, Any]
BodyBuilder = Callable[[list[Payload]], Any]
AuthKind = Literal["header", "bearer", "query", "basic"]
When = Literal["present", "absent", "truthy", "falsy", "equals"]

BODY_EXCERPT_BYTES = 2048
# Header names whose values are credentials whatever their content.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"set-cookie", "set-cookie2", "cookie", "authorization", "proxy-authorization"}
)
# Scrubbing a 1-3 character "secret" out of every text would mangle URLs and messages.
_MIN_SCRUBBED_LENGTH = 4
_PATH_SEGMENT = re.compile(r"[^.\[\]]+")
MISSING: Any = object()
"""What ``lookup`` returns for a path that is not there."""


def default_body(payloads: list[Payload]) -> Any:
    """One payload as it is; several as a JSON list."""
    return payloads[0] if len(payloads) == 1 else payloads


class _FromMapping:
    """``from_mapping``: build a settings dataclass from a manifest section, naming unknown keys."""

    __slots__ = ()
    SECTION: ClassVar[str]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Self:
        known = {f.name for f in dataclasses.fields(cast(Any, cls))}
        for key in mapping:
            if key not in known:
                raise ConfigError(
                    f"unknown {cls.SECTION} setting {key!r}; known settings: {', '.join(sorted(known))}",
                    location=Location(path=f"{cls.SECTION}.{key}"),
                )
        return cls(**mapping)


@dataclass(frozen=True, slots=True)
class AuthSpec(_FromMapping):
    """How a request carries its credential; ``secret`` and ``username`` are SecretRef strings.

    ``header``: ``name: <prefix><secret>``; ``bearer``: ``Authorization: Bearer <secret>``;
    ``query``: ``?<name>=<secret>``; ``basic``: ``Authorization: Basic`` of username:secret.
    """

    SECTION: ClassVar[str] = "auth"

    kind: AuthKind
    secret: str
    name: str | None = None
    username: str | None = None
    prefix: str = ""

    def __post_init__(self) -> None:
        if self.kind not in get_args(AuthKind):
            raise _setting_error("auth.kind", f"must be one of {get_args(AuthKind)}")
        if self.kind in ("header", "query") and not self.name:
            raise _setting_error("auth.name", f"is required for {self.kind} auth")
        if self.kind == "basic" and not self.username:
            raise _setting_error("auth.username", "is required for basic auth")
        for ref in self.refs():
            SecretRef.parse(ref)  # fail at configuration time, not at the first request

    def refs(self) -> list[str]:
        return [self.secret] if self.username is None else [self.secret, self.username]

    def credentials(self, resolver: SecretResolver) -> _Credentials:
        token = resolver.resolve(self.secret).reveal()
        if self.kind == "bearer":
            return _Credentials({"Authorization": f"Bearer {token}"}, {}, (token,))
        if self.kind == "header":
            return _Credentials({cast(str, self.name): self.prefix + token}, {}, (token,))
        if self.kind == "query":
            return _Credentials({}, {cast(str, self.name): token}, (token,))
        user = resolver.resolve(cast(str, self.username)).reveal()
        pair = base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
        return _Credentials({"Authorization": f"Basic {pair}"}, {}, (token, user, pair))


@dataclass(frozen=True, slots=True)
class _Credentials:
    headers: dict[str, str]
    params: dict[str, str]
    revealed: tuple[str, ...]  # for redaction


@dataclass(frozen=True, slots=True)
class ErrorIn200(_FromMapping):
    """A vendor error inside a 2xx body: ``{"path": "error", "when": "present"}``.

    Paths are dotted (``errors[0].code`` or ``errors.0.code``). ``present`` means
    there and not null; a body that is not JSON has every path absent.
    """

    SECTION: ClassVar[str] = "error_in_200"

    path: str
    when: When = "present"
    value: Any = None  # for when == "equals"
    message_path: str | None = None  # where the vendor's message is, for the outcome's reason
    retryable: bool = False

    def __post_init__(self) -> None:
        if self.when not in get_args(When):
            raise _setting_error("error_in_200.when", f"must be one of {get_args(When)}")

    def matches(self, document: Any) -> bool:
        found = lookup(document, self.path)
        present = found is not MISSING and found is not None
        if self.when == "present":
            return present
        if self.when == "absent":
            return not present
        if self.when == "truthy":
            return present and bool(found)
        if self.when == "falsy":
            return found is not MISSING and not found
        return present and found == self.value

    def message(self, document: Any) -> str | None:
        found = lookup(document, self.message_path) if self.message_path else MISSING
        return None if found is MISSING else str(found)


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """The vendor refused one item of a batch."""

    message: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class PartialFailure(_FromMapping):
    """Per-item failures in a 2xx body.

    ``path`` leads to a list of ``{index_field, message_field}`` objects (or of
    bare indexes), or to an object mapping failed indexes to messages (or objects).
    Failed items are RETRY_LATER when retryable (``retryable_field`` per item, else
    ``retryable``), DEAD_LETTERED otherwise; the others are DELIVERED.
    """

    SECTION: ClassVar[str] = "partial_failure"

    path: str
    index_field: str = "index"
    message_field: str = "message"
    retryable_field: str | None = None
    retryable: bool = False

    def failures(self, document: Any, batch_size: int) -> dict[int, ItemFailure]:
        found = lookup(document, self.path)
        if isinstance(found, Mapping):
            entries = list(found.items())
        elif isinstance(found, list):
            entries = [(e.get(self.index_field) if isinstance(e, Mapping) else e, e) for e in found]
        else:
            return {}
        failures: dict[int, ItemFailure] = {}
        for raw_index, entry in entries:
            index = _item_index(raw_index, batch_size)
            if index is None:
                logger.warning(
                    "partial failure names item %r, not in a batch of %d", raw_index, batch_size
                )
                continue
            failures[index] = self._failure(entry)
        return failures

    def _failure(self, entry: Any) -> ItemFailure:
        if not isinstance(entry, Mapping):
            return ItemFailure(str(entry), self.retryable)
        retryable = (
            bool(entry.get(self.retryable_field)) if self.retryable_field else self.retryable
        )
        return ItemFailure(str(entry.get(self.message_field, entry)), retryable)


@dataclass(frozen=True, slots=True)
class HttpEndpoint:
    """One vendor API call: where, how authenticated, how bodies are built and batched."""

    url: str
    method: str = "POST"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: AuthSpec | None = None
    build_body: BodyBuilder = default_body
    max_events: int = 1
    max_bytes: int | None = None
    error_in_200: ErrorIn200 | None = None
    partial_failure: PartialFailure | None = None
    idempotency_header: str | None = None

    def __post_init__(self) -> None:
        try:
            scheme = httpx.URL(self.url).scheme
        except httpx.InvalidURL as exc:
            raise _setting_error("url", f"is not a URL: {exc}") from None
        if scheme not in ("http", "https"):
            raise _setting_error("url", f"must be http(s), got {self.url!r}")
        object.__setattr__(self, "method", self.method.upper())
        if self.max_events < 1:
            raise _setting_error("max_events", f"must be >= 1, got {self.max_events}")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise _setting_error("max_bytes", f"must be >= 1, got {self.max_bytes}")


class HttpClient(Protocol):
    """What the sink needs from ``httpx.Client`` (inject one; its timeouts apply)."""

    def build_request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | None = ...,
        params: httpx.QueryParams | None = ...,
        headers: Mapping[str, str] | None = ...,
    ) -> httpx.Request: ...

    def send(self, request: httpx.Request) -> httpx.Response: ...


class HttpSink:
    """Delivers to one vendor endpoint. Share one per vendor: its limiter and breaker are per vendor."""

    def __init__(
        self,
        endpoint: HttpEndpoint,
        client: HttpClient,
        policy: RetryPolicy | None = None,
        secrets: SecretResolver | None = None,
        rate_limiter: TokenBucket | None = None,
        breaker: CircuitBreaker | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[float, float], float] = random.uniform,
        remaining_time: RemainingTime | None = None,
    ) -> None:
        if endpoint.auth is not None and secrets is None:
            raise ConfigError(f"{endpoint.url}: the endpoint has auth; pass a SecretResolver")
        self.endpoint = endpoint
        self.client = client
        self.policy = policy or RetryPolicy()
        self.secrets = secrets
        self.rate_limiter = rate_limiter
        self.breaker = breaker
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        # Public: an entry point sets it per invocation (a Lambda's remaining time).
        self.remaining_time = remaining_time
        self.url = httpx.URL(endpoint.url)
        if endpoint.auth is not None:
            _LOG_SCRUBBER.install()

    def __repr__(self) -> str:
        return f"HttpSink({self.endpoint.method} {self.endpoint.url})"

    def deliver(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order."""
        batches, outcomes = _Planner(self.endpoint, deliveries).plan()
        for batch in batches:
            outcomes.update(zip(batch.indexes, self._send(batch), strict=True))
        return [outcomes[i] for i in range(len(deliveries))]

    def _send(self, batch: _Batch) -> list[Outcome]:
        exchange = _Exchange(self, batch)
        attempts = self.policy.run(
            exchange.attempt,
            sleep=self._sleep,
            clock=self._clock,
            rng=self._rng,
            remaining_time=self.remaining_time,
            retry_result=_Reply.worth_retrying,
            retry_after=_Reply.retry_after,
            retry_error=_worth_retrying,
        )
        return _Judgement(self.endpoint, batch, attempts, exchange).outcomes()


def _worth_retrying(error: BaseException) -> bool:
    # An open circuit is transient for the caller but retrying it now only burns the budget.
    return is_transient(error) and not isinstance(error, CircuitOpenError)


class _Verdict(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class _Reply:
    """A response, judged once: its verdict, parsed body and the vendor's message."""

    response: httpx.Response
    verdict: _Verdict
    document: Any
    message: str | None

    @classmethod
    def judge(cls, response: httpx.Response, endpoint: HttpEndpoint, policy: RetryPolicy) -> _Reply:
        declared = endpoint.error_in_200 is not None or endpoint.partial_failure is not None
        document = _json_or_none(response) if declared else None  # parsed only when a rule reads it
        status = response.status_code
        if status in policy.retry_statuses:
            return cls(response, _Verdict.RETRY, document, None)
        if not 200 <= status < 300:
            return cls(response, _Verdict.FAIL, document, None)
        rule = endpoint.error_in_200
        if rule is None or not rule.matches(document):
            return cls(response, _Verdict.OK, document, None)
        verdict = _Verdict.RETRY if rule.retryable else _Verdict.FAIL
        return cls(response, verdict, document, rule.message(document) or IN_BODY)

    def worth_retrying(self) -> bool:
        return self.verdict is _Verdict.RETRY

    def retry_after(self) -> str | None:
        value: str | None = self.response.headers.get("retry-after")
        return value

    def describe(self, *, with_message: bool = False) -> str:
        """The status, and with ``with_message`` the vendor's own error message.

        The vendor's message may echo the payload (names, IPs, ids that no text
        pattern catches), so it goes only where the payload already is: the dead
        letter. Reasons, which are logged, say that there is one.
        """
        text = f"HTTP {self.response.status_code} {self.response.reason_phrase}".rstrip()
        if not self.message:
            return text
        if with_message or self.message == IN_BODY:
            return f"{text}: {self.message}"
        return (
            f"{text}: the vendor reported an error in the body (its message is in the dead letter)"
        )


#: The reason when a vendor's error-in-200 body carries no message of its own.
IN_BODY: Final = "error in a 2xx body"


@dataclass(frozen=True, slots=True)
class _Batch:
    indexes: tuple[int, ...]
    deliveries: tuple[Delivery, ...]
    body: bytes

    @property
    def idempotency_key(self) -> str:
        """The delivery's key; for a batch, a stable hash of its keys (same batch, same key)."""
        if len(self.deliveries) == 1:
            return self.deliveries[0].idempotency_key
        keys = "\n".join(d.idempotency_key for d in self.deliveries)
        return "batch-" + hashlib.sha256(keys.encode()).hexdigest()


class _Planner:
    """Splits deliveries into request bodies within ``max_events`` and ``max_bytes``.

    Groups are formed from per-payload sizes plus the builder's wrapper overhead,
    then each body is encoded and checked; a body still too large is halved.
    Payloads that cannot be sent at all are dead-lettered here.
    """

    def __init__(self, endpoint: HttpEndpoint, deliveries: Sequence[Delivery]) -> None:
        self.endpoint = endpoint
        self.deliveries = deliveries
        self.batches: list[_Batch] = []
        self.rejected: dict[int, Outcome] = {}

    def plan(self) -> tuple[list[_Batch], dict[int, Outcome]]:
        if self.endpoint.max_bytes is None:  # sizes only matter under a byte limit
            sizes = [(index, 0) for index in range(len(self.deliveries))]
        else:
            sizes = self._sizes()
        for group in self._groups(sizes):
            self._fit(group)
        return self.batches, self.rejected

    def _sizes(self) -> list[tuple[int, int]]:
        sizes: list[tuple[int, int]] = []
        for index, delivery in enumerate(self.deliveries):
            try:
                sizes.append((index, len(_encode(delivery.payload))))
            except (TypeError, ValueError) as exc:
                self._reject(index, _not_json(exc))
        return sizes

    def _groups(self, sizes: list[tuple[int, int]]) -> Iterator[list[int]]:
        limit, most = self.endpoint.max_bytes, self.endpoint.max_events
        overhead = self._overhead(sizes[0]) if sizes and limit is not None else 0
        group: list[int] = []
        estimate = overhead
        for index, size in sizes:
            cost = size + 1  # a separator
            if limit is not None and overhead + cost > limit:
                if group:  # flush first: requests keep the deliveries' order
                    yield group
                    group, estimate = [], overhead
                yield [index]  # alone: _fit rejects it if it really is too large
                continue
            if group and (len(group) >= most or (limit is not None and estimate + cost > limit)):
                yield group
                group, estimate = [], overhead
            group.append(index)
            estimate += cost
        if group:
            yield group

    def _overhead(self, first: tuple[int, int]) -> int:
        """Bytes the body builder adds around one payload (e.g. ``{"data":[...]}``), plus list brackets."""
        index, size = first
        return max(0, len(self._body([index])) - size) + 1

    def _fit(self, group: list[int]) -> None:
        limit = self.endpoint.max_bytes
        problem: str | None
        try:
            body = self._body(group)
        except (TypeError, ValueError) as exc:  # NaN, a datetime...: halving finds the culprit
            body, problem = b"", _not_json(exc)
        else:
            too_large = limit is not None and len(body) > limit
            problem = f"payload is {len(body)} bytes, over max_bytes {limit}" if too_large else None
        if problem is None:
            deliveries = tuple(self.deliveries[i] for i in group)
            self.batches.append(_Batch(tuple(group), deliveries, body))
        elif len(group) == 1:
            self._reject(group[0], problem)
        else:
            half = len(group) // 2
            self._fit(group[:half])
            self._fit(group[half:])

    def _body(self, group: list[int]) -> bytes:
        return _encode(self.endpoint.build_body([self.deliveries[i].payload for i in group]))

    def _reject(self, index: int, reason: str) -> None:
        event_id = self.deliveries[index].event_id
        logger.warning("event %s not sent: %s", event_id, reason)
        self.rejected[index] = Outcome(
            event_id, OutcomeKind.DEAD_LETTERED, reason=reason, detail={"error": reason}
        )


class _Redactor:
    """Replaces revealed secret values (and their URL-encoded forms) with ``***`` in any text."""

    def __init__(self) -> None:
        # Longest first, so no secret's tail survives a shorter one's replacement. Readers see
        # an immutable tuple; writers (sinks on several threads share the log scrubber) lock.
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *values: str) -> None:
        forms = {f(v) for v in values if len(v) >= _MIN_SCRUBBED_LENGTH for f in _FORMS}
        if forms.issubset(self._values):
            return
        with self._lock:
            self._values = tuple(sorted(forms.union(self._values), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text


_FORMS: tuple[Callable[[str], str], ...] = (str, lambda v: quote(v, safe=""), quote_plus)


class _ScrubThirdPartyLogs(logging.Filter):
    """Scrubs revealed secrets from httpx's and httpcore's own log records.

    httpx logs every request URL at INFO (a query-string credential included) and
    httpcore logs response headers at DEBUG (a vendor may echo a credential).
    """

    LOGGERS = (
        "httpx",
        "httpcore.connection",
        "httpcore.http11",
        "httpcore.http2",
        "httpcore.proxy",
    )

    def __init__(self) -> None:
        super().__init__()
        self.redact = _Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.redact(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True

    def install(self) -> None:
        for name in self.LOGGERS:
            third_party = logging.getLogger(name)
            if self not in third_party.filters:
                third_party.addFilter(self)


_LOG_SCRUBBER = _ScrubThirdPartyLogs()


class _Exchange:
    """One batch's requests: sends each attempt and remembers what the DLQ record needs."""

    def __init__(self, sink: HttpSink, batch: _Batch) -> None:
        self.sink = sink
        self.batch = batch
        self.sent = 0
        self.request: httpx.Request | None = None
        self.redact = _Redactor()

    def attempt(self) -> _Reply:
        sink = self.sink
        if sink.breaker is not None:
            sink.breaker.check()
        if sink.rate_limiter is not None:
            sink.rate_limiter.acquire()
        try:
            self.request = self._build_request()
            self.sent += 1
            response = sink.client.send(self.request)
        except TRANSLATED as exc:
            error = translate(exc, self.redact)
            if is_transient(error):
                self._tell_breaker(failed=True)
            # `from None`: httpx's chained exceptions may carry the URL and its query secret.
            raise error from None
        reply = _Reply.judge(response, sink.endpoint, sink.policy)
        self._tell_breaker(failed=reply.verdict is _Verdict.RETRY)
        if response.status_code == 401:
            self._forget_credentials()
        return reply

    def _build_request(self) -> httpx.Request:
        endpoint, secrets = self.sink.endpoint, self.sink.secrets
        headers = {"Content-Type": "application/json", **endpoint.headers}
        if endpoint.idempotency_header:
            headers[endpoint.idempotency_header] = self.batch.idempotency_key
        params = self.sink.url.params.merge(endpoint.params)
        if endpoint.auth is not None and secrets is not None:
            credentials = endpoint.auth.credentials(secrets)
            self.redact.add(*credentials.revealed)
            _LOG_SCRUBBER.redact.add(*credentials.revealed)
            headers.update(credentials.headers)
            params = params.merge(credentials.params)
        return self.sink.client.build_request(
            endpoint.method, self.sink.url, params=params, headers=headers, content=self.batch.body
        )

    def _forget_credentials(self) -> None:
        """After a 401: the secret may have rotated; fetch it again next time."""
        auth, secrets = self.sink.endpoint.auth, self.sink.secrets
        if auth is not None and secrets is not None:
            for ref in auth.refs():
                secrets.invalidate(ref)

    def _tell_breaker(self, *, failed: bool) -> None:
        breaker = self.sink.breaker
        if breaker is not None:
            (breaker.record_failure if failed else breaker.record_success)()

    def request_record(self) -> dict[str, Any]:
        endpoint = self.sink.endpoint
        if self.request is None:  # failed before a request was built (e.g. a missing secret)
            return {"method": endpoint.method, "url": self.redact(endpoint.url), "headers": {}}
        auth = endpoint.auth
        secret_params = {auth.name} if auth is not None and auth.kind == "query" else set()
        exempt = (endpoint.idempotency_header or "").lower()  # httpx lower-cases header names
        headers = {
            name: REDACTED if is_sensitive(name) and name != exempt else self.redact(value)
            for name, value in self.request.headers.items()
        }
        return {
            "method": self.request.method,
            "url": self.redact(_redacted_url(self.request.url, secret_params)),
            "headers": headers,
        }

    def response_record(self, response: httpx.Response) -> dict[str, Any]:
        body = response.content
        return {
            "status": response.status_code,
            "headers": {
                name: self.redact(value)
                for name, value in response.headers.items()
                if name.lower() not in _DROPPED_RESPONSE_HEADERS
            },
            "body": self.redact(body[:BODY_EXCERPT_BYTES].decode("utf-8", errors="replace")),
            "body_truncated": len(body) > BODY_EXCERPT_BYTES,
        }


class _Judgement:
    """Turns one batch's Attempts into per-delivery outcomes."""

    def __init__(
        self,
        endpoint: HttpEndpoint,
        batch: _Batch,
        attempts: Attempts[_Reply],
        exchange: _Exchange,
    ) -> None:
        self.endpoint = endpoint
        self.batch = batch
        self.attempts = attempts
        self.exchange = exchange

    def outcomes(self) -> list[Outcome]:
        error, reply = self.attempts.error, self.attempts.result
        if error is not None:
            return self._failed(_kind(is_transient(error)), error.message, reply=None)
        assert reply is not None  # run() returns a result or an error
        if reply.verdict is _Verdict.OK:
            return self._delivered(reply)
        return self._failed(
            _kind(reply.verdict is _Verdict.RETRY),
            reply.describe(),
            reply,
            detail=reply.describe(with_message=True),
        )

    def _delivered(self, reply: _Reply) -> list[Outcome]:
        rule = self.endpoint.partial_failure
        failures = rule.failures(reply.document, len(self.batch.indexes)) if rule else {}
        outcomes: list[Outcome] = []
        for position, delivery in enumerate(self.batch.deliveries):
            failure = failures.get(position)
            if failure is None:
                outcomes.append(self._outcome(delivery, OutcomeKind.DELIVERED, reply))
                continue
            # The reason is logged: the vendor's message (it may echo the item) is kept
            # only in the dead letter's record, like the payload itself.
            reason = f"vendor refused item {position}"
            detail = self.exchange.redact(f"{reason}: {failure.message}")
            kind = _kind(failure.retryable)
            outcomes.append(
                self._outcome(delivery, kind, reply, reason, self._record(detail, reply))
            )
        if failures:
            logger.warning(
                "%s: vendor refused %d of %d item(s)", self._vendor(), len(failures), len(outcomes)
            )
        return outcomes

    def _failed(
        self, kind: OutcomeKind, error: str, reply: _Reply | None, *, detail: str | None = None
    ) -> list[Outcome]:
        """``error`` is logged and becomes the reason; ``detail`` (default: ``error``) is kept
        in the dead letter's record only."""
        error = self.exchange.redact(error)
        gave_up = self.attempts.gave_up
        reason = f"{error} ({gave_up})" if gave_up else error
        logger.warning(
            "%s: %d event(s) %s after %d request(s): %s",
            self._vendor(),
            len(self.batch.deliveries),
            kind,
            self.exchange.sent,
            reason,
        )
        record = self._record(error if detail is None else self.exchange.redact(detail), reply)
        return [self._outcome(d, kind, reply, reason, record) for d in self.batch.deliveries]

    def _outcome(
        self,
        delivery: Delivery,
        kind: OutcomeKind,
        reply: _Reply | None,
        reason: str | None = None,
        record: dict[str, Any] | None = None,
    ) -> Outcome:
        return Outcome(
            event_id=delivery.event_id,
            kind=kind,
            reason=reason,
            attempts=self.exchange.sent,
            status_code=None if reply is None else reply.response.status_code,
            detail={} if record is None else dict(record),
        )

    def _record(self, error: str, reply: _Reply | None) -> dict[str, Any]:
        attempts = self.attempts
        return {
            "request": self.exchange.request_record(),
            "response": None if reply is None else self.exchange.response_record(reply.response),
            "attempts": self.exchange.sent,
            "first_attempt_at": attempts.first_attempt_at,
            "last_attempt_at": attempts.last_attempt_at,
            "error": error,
            "gave_up": None if attempts.gave_up is None else str(attempts.gave_up),
            "retry_after": attempts.retry_after,
        }

    def _vendor(self) -> str:
        return self.batch.deliveries[0].vendor


def _kind(retryable: bool) -> OutcomeKind:
    return OutcomeKind.RETRY_LATER if retryable else OutcomeKind.DEAD_LETTERED


def _redacted_url(url: httpx.URL, secret_params: set[str | None]) -> str:
    pairs = [
        (name, REDACTED if name in secret_params else value)
        for name, value in url.params.multi_items()
    ]
    # safe="*": keep the marker readable instead of %2A%2A%2A.
    return str(url.copy_with(userinfo=b"", query=urlencode(pairs, safe="*").encode() or None))


def _not_json(error: Exception) -> str:
    return f"payload is not valid JSON: {error}"


def _encode(body: Any) -> bytes:
    # allow_nan=False: NaN is not JSON, and vendors reject it (REFERENCE.md).
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path (``a.b[0].c`` or ``a.b.0.c``), or ``MISSING``."""
    node = document
    for part in _PATH_SEGMENT.findall(path):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def _item_index(raw: Any, batch_size: int) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 <= raw < batch_size else None


def _setting_error(path: str, message: str) -> ConfigError:
    return ConfigError(f"{path} {message}", location=Location(path=path))


__all__ = [
    "BODY_EXCERPT_BYTES",
    "MISSING",
    "AuthSpec",
    "ErrorIn200",
    "HttpClient",
    "HttpEndpoint",
    "HttpSink",
    "ItemFailure",
    "PartialFailure",
    "default_body",
    "lookup",
]
