"""Dead letters: deliveries that failed for good, kept with what is needed to understand and replay them.

A ``DeadLetter`` holds the canonical event (datum form), where it was going
(vendor, mapping version, route), why it failed, the last request and response
(secrets removed, bodies cut to an excerpt) and replay bookkeeping.
``DeadLetterStore`` owns serialization, redaction, filtering and ordering;
backends (memory, SQLite, JSON lines, SQS) only store and find JSON text.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Self

from martech_bus import redaction as redact
from martech_bus import typed_json
from martech_bus.errors import Location, MartechBusError
from martech_bus.sinks.base import BUS as BUS  # re-exported: routes live in sinks.base
from martech_bus.sinks.base import DIRECT, Delivery, Outcome

#: Version of the stored JSON form; a reader refuses versions it does not know.
FORMAT: Final = 1
Now = Callable[[], datetime]


class DeadLetterError(MartechBusError):
    """A dead letter cannot be built, stored or read."""


class UnknownDeadLetterError(DeadLetterError, LookupError):
    """No dead letter has this id (never stored, or deleted)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """One delivery that failed for good. Timestamps must be timezone-aware."""

    id: str
    event_id: str
    vendor: str
    mapping_version: int
    event: Mapping[str, Any]  # the canonical event, datum form
    reason: str
    dead_lettered_at: datetime
    route: str = DIRECT
    error: str | None = None
    status_code: int | None = None
    request: Mapping[str, Any] | None = None  # method, url, headers, body (an excerpt)
    response: Mapping[str, Any] | None = None  # status, headers, body (an excerpt)
    attempts: int = 0
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    replayed_at: datetime | None = None
    replay_count: int = 0
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # other detail keys

    def __post_init__(self) -> None:
        for name in _INSTANTS:
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise DeadLetterError(
                    f"{name} must be timezone-aware, got {value.isoformat()}",
                    location=Location(event_id=self.event_id),
                )

    @classmethod
    def from_outcome(
        cls,
        delivery: Delivery,
        outcome: Outcome,
        *,
        route: str = DIRECT,
        now: datetime,
        record_id: str | None = None,
    ) -> DeadLetter:
        """The dead letter for a failed ``delivery``, from the sink's ``outcome``.

        ``outcome.detail`` may carry ``request``, ``response``, ``attempts``,
        ``first_attempt_at``, ``last_attempt_at`` and ``error``; any other keys
        (``gave_up``, ``retry_after``, ...) are kept, as text where not JSON scalars,
        in ``extra``.
        """
        if outcome.event_id != delivery.event_id:
            raise DeadLetterError(
                f"the outcome is about event {outcome.event_id!r}, not this delivery's",
                location=Location(event_id=delivery.event_id),
            )
        detail = outcome.detail
        request, response = detail.get("request"), detail.get("response")
        status = outcome.status_code
        if status is None and isinstance(response, Mapping):
            status = response.get("status") or response.get("status_code")
        error = _error_text(detail.get("error"))
        return cls(
            id=record_id or new_id(now),
            event_id=delivery.event_id,
            vendor=delivery.vendor,
            mapping_version=delivery.mapping_version,
            event=delivery.event,
            reason=outcome.reason or error or outcome.kind.value,
            route=route,
            error=error,
            status_code=None if status is None else int(status),
            request=_exchange_excerpt(request),
            response=_exchange_excerpt(response),
            attempts=int(detail.get("attempts") or outcome.attempts),
            first_attempt_at=_instant(detail.get("first_attempt_at")),
            last_attempt_at=_instant(detail.get("last_attempt_at")),
            dead_lettered_at=now,
            extra=redact.exchange({k: v for k, v in detail.items() if k not in _DETAIL_FIELDS})
            or {},
        )

    def redacted(self) -> DeadLetter:
        """This record with secrets removed from request, response, reason and error."""
        return dataclasses.replace(
            self,
            reason=redact.text(self.reason),
            error=None if self.error is None else redact.text(self.error),
            request=redact.exchange(self.request),
            response=redact.exchange(self.response),
            extra=redact.exchange(self.extra) or {},
        )

    def to_json(self) -> str:
        """The stored form: one JSON object; the event keeps its types via ``event_types``."""
        try:
            event, tags = typed_json.dump(self.event)
        except (TypeError, ValueError) as exc:
            raise DeadLetterError(
                f"the event cannot be stored: {exc}", location=Location(event_id=self.event_id)
            ) from exc
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.update(event=event, event_types=tags, format=FORMAT)
        for name in _INSTANTS:
            fields[name] = _iso(fields[name])
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> DeadLetter:
        """Read the stored form back."""
        try:
            fields = json.loads(text)
            version = fields.pop("format")
            if version != FORMAT:
                raise DeadLetterError(
                    f"unknown dead-letter format {version!r} (this reader knows {FORMAT})"
                )
            fields["event"] = typed_json.load(fields["event"], fields.pop("event_types"))
            for name in _INSTANTS:
                if fields[name] is not None:
                    fields[name] = datetime.fromisoformat(fields[name])
            return cls(**fields)
        except DeadLetterError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeadLetterError(f"unreadable dead letter: {exc}") from exc


_DETAIL_FIELDS: Final = frozenset(
    {"request", "response", "attempts", "first_attempt_at", "last_attempt_at", "error"}
)
_INSTANTS: Final = ("dead_lettered_at", "first_attempt_at", "last_attempt_at", "replayed_at")


@dataclass(frozen=True, slots=True)
class Query:
    """Which dead letters to list; backends may use it to pre-filter, the base class applies it exactly."""

    vendor: str | None = None
    since: datetime | None = None  # dead-lettered at or after
    include_replayed: bool = False
    limit: int | None = None

    def matches(self, record: DeadLetter) -> bool:
        return (
            (self.vendor is None or record.vendor == self.vendor)
            and (self.since is None or record.dead_lettered_at >= self.since)
            and (self.include_replayed or record.replayed_at is None)
        )


EVERYTHING: Final = Query(include_replayed=True)


class DeadLetterStore(ABC):
    """Where dead letters wait for a person or a replay; backends implement the hooks below."""

    def __init__(self, *, clock: Now | None = None) -> None:
        self.clock: Now = clock or _utc_now

    # -- the API ---------------------------------------------------------------------------

    def put(self, record: DeadLetter) -> DeadLetter:
        """Store ``record``; returns what was stored (redacted).

        Putting the same record again (a retried put) keeps one copy. Another
        record under an existing id replaces it, except on SQS, where both stay
        until the id is deleted or replayed and readers keep one of them.
        """
        record = record.redacted()  # the last line of defence, whoever built the record
        self._insert(record, record.to_json())
        return record

    def get(self, record_id: str) -> DeadLetter:
        """The dead letter ``record_id``; ``UnknownDeadLetterError`` when there is none."""
        body = self._read(record_id)
        if body is None:
            raise UnknownDeadLetterError(f"no dead letter with id {record_id!r}")
        return DeadLetter.from_json(body)

    def list(
        self,
        vendor: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        include_replayed: bool = False,
    ) -> builtins.list[DeadLetter]:
        """Dead letters oldest first (then by id); replayed ones only when asked."""
        if limit is not None and limit < 0:
            raise DeadLetterError(f"limit must be >= 0, got {limit}")
        if since is not None and since.utcoffset() is None:
            raise DeadLetterError(f"since must be timezone-aware, got {since.isoformat()}")
        return self._select(Query(vendor, since, include_replayed, limit))

    def mark_replayed(self, record_id: str, at: datetime | None = None) -> DeadLetter:
        """Note that ``record_id`` was replayed at ``at`` (default: now); returns the updated record."""
        record = self.get(record_id)
        updated = dataclasses.replace(
            record, replayed_at=at or self.clock(), replay_count=record.replay_count + 1
        )
        self._replace(updated, updated.to_json())
        return updated

    def delete(self, record_id: str) -> None:
        """Forget ``record_id``; ``UnknownDeadLetterError`` when there is none."""
        if not self._remove(record_id):
            raise UnknownDeadLetterError(f"no dead letter with id {record_id!r}")

    def count(self, *, vendor: str | None = None, include_replayed: bool = False) -> int:
        """How many dead letters (not replayed, unless asked) are waiting."""
        return self._count(Query(vendor, None, include_replayed))

    def oldest_age(
        self, now: datetime | None = None, *, vendor: str | None = None
    ) -> timedelta | None:
        """How long the oldest waiting (not replayed) dead letter has waited; None when there is none."""
        oldest = self._select(Query(vendor, None, False, 1))
        return (now or self.clock()) - oldest[0].dead_lettered_at if oldest else None

    def close(self) -> None:  # noqa: B027 - optional: only backends holding resources override it
        """Release the backend's resources (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def _insert(self, record: DeadLetter, body: str) -> None:
        """Store ``body`` (``record`` serialized) under ``record.id``, replacing any earlier one."""

    @abstractmethod
    def _scan(self, query: Query) -> Iterable[str]:
        """Stored bodies; a backend may leave out what ``query`` excludes, but need not."""

    @abstractmethod
    def _remove(self, record_id: str) -> bool:
        """Delete ``record_id``; False when it was not there."""

    def _replace(self, record: DeadLetter, body: str) -> None:
        """Overwrite an existing record (an upserting ``_insert`` by default)."""
        self._insert(record, body)

    def _read(self, record_id: str) -> str | None:
        """The body of ``record_id`` (by scanning, unless a backend can do better)."""
        for body in self._scan(EVERYTHING):
            if json.loads(body).get("id") == record_id:
                return body
        return None

    def _count(self, query: Query) -> int:
        """How many records match (by listing, unless a backend can do better)."""
        return len(self._select(query))

    # -- the logic the backends share --------------------------------------------------------

    def _select(self, query: Query) -> builtins.list[DeadLetter]:
        latest: dict[str, DeadLetter] = {}
        for body in self._scan(query):
            record = DeadLetter.from_json(body)
            seen = latest.get(record.id)
            # A queue may hold two versions of a record for a while: keep the most replayed.
            if seen is None or record.replay_count > seen.replay_count:
                latest[record.id] = record
        chosen = sorted(
            (r for r in latest.values() if query.matches(r)),
            key=lambda r: (r.dead_lettered_at, r.id),
        )
        return chosen if query.limit is None else chosen[: query.limit]


def new_id(now: datetime) -> str:
    """A UUIDv7 (RFC 9562) for ``now``: unique, and sorts by time as text."""
    millis = int(now.timestamp() * 1000) & (2**48 - 1)
    value = millis << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | 0x7 << 76  # version 7
    value = (value & ~(0x3 << 62)) | 0x2 << 62  # RFC variant
    return str(uuid.UUID(int=value))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: Any) -> datetime | None:
    """A timestamp from a sink's detail: a datetime, ISO 8601 text or epoch seconds."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return datetime.fromtimestamp(float(value), UTC)


def _error_text(error: Any) -> str | None:
    if error is None or isinstance(error, str):
        return error
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def _exchange_excerpt(value: Any) -> dict[str, Any] | None:
    """A request/response from the sink, redacted, with its body cut to an excerpt."""
    if not isinstance(value, Mapping):
        return None
    safe = redact.exchange(value)
    assert safe is not None
    if "body" in safe:
        safe["body"] = redact.excerpt(safe["body"])
    return safe
