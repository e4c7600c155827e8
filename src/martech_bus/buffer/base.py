"""The gateway's durable buffer: append, then claim with a lease, then ack or release.

The gateway answers 202 only after ``append`` returned: the record is durable.
A drainer ``claim``s records (each claim takes a lease for ``visibility_timeout``
seconds and counts an attempt), processes them, and ``ack``s them; a record
whose lease ran out without an ack (its drainer crashed) becomes claimable
again. Delivery is at least once: downstream dedupes by event id.

The rules live here, once, for every backend:

- **Who may ack.** Only the current lease holder: a claim whose lease has run
  out (by the store's clock) is refused, and so is a claim superseded by a later
  claim or a release (backends with ``checks_tokens``; SQS cannot tell an old
  receipt handle from the current one, so there only the lease rule applies).
  A refused ack leaves the record to be processed again: a duplicate, never a loss.
- **Poison.** Each claim counts an attempt. A claim that takes a record past
  ``max_attempts`` still returns it, flagged ``poison=True`` with a reason: the
  caller quarantines it (dead-letters it, then acks). Nothing is ever dropped;
  a record the backend cannot even decode comes back flagged the same way.
- **Order.** Claims take the oldest claimable records first (memory and SQLite
  exactly; a standard SQS queue is best effort). A released record keeps its place.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Final, NamedTuple, Self, TypedDict

from martech_bus.awsapi import StoreError, TerminalStoreError, TransientStoreError
from martech_bus.errors import ConfigError, Location, TerminalError

#: Seconds since the epoch, like ``time.time``.
Clock = Callable[[], float]

DEFAULT_VISIBILITY_TIMEOUT: Final = 30.0  # SQS's default too
DEFAULT_MAX_ATTEMPTS: Final = 5


class InvalidRecordError(TerminalError, ValueError):
    """A record the buffer refuses: empty source, payload not bytes, non-text meta, too large."""


class AppendTimeoutError(TransientStoreError, TimeoutError):
    """The append did not reach a transaction within the bounded wait; nothing of it was written."""


#: What ``append_each`` reports per record: its id, or why it was not buffered.
AppendOutcome = str | InvalidRecordError | StoreError


@dataclass(frozen=True, slots=True)
class Incoming:
    """What ``append`` takes: a payload from one gateway route, not yet buffered.

    ``id`` and ``received_at`` default to a new UUIDv7 and the store's clock;
    give them to move a record between stores or to use a request id.
    """

    source: str
    payload: bytes
    meta: Mapping[str, str] = field(default_factory=dict)
    id: str | None = None
    received_at: float | None = None


@dataclass(frozen=True, slots=True)
class BufferRecord:
    """One buffered record. ``payload`` is opaque: the buffer never parses it."""

    id: str
    source: str  # the gateway route: canonical, segment, shopify, ...
    payload: bytes
    meta: Mapping[str, str]  # content type, request id, signature verdict, ...
    received_at: float  # epoch seconds
    attempts: int = 0  # claims so far, this one included


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed record and its lease; ``ack`` it when done, ``release`` it to retry later."""

    record: BufferRecord
    token: str  # identifies this lease (SQS: the receipt handle)
    lease_until: float  # epoch seconds, by the store's clock
    poison: bool = False  # attempts exceeded max_attempts, or undecodable: quarantine it
    reason: str | None = None  # why it is poison

    @property
    def id(self) -> str:
        return self.record.id


class Lease(NamedTuple):
    """What a backend's ``_claim`` hook needs to take leases."""

    now: float
    seconds: float  # the visibility timeout
    until: float  # now + seconds
    token: str  # for backends that make their own tokens (not SQS)


class Taken(NamedTuple):
    """One record a ``_claim`` hook took: its attempts already counted."""

    record: BufferRecord
    token: str
    problem: str | None = None  # set when the backend could not decode what it stored


class Held(NamedTuple):
    """A lease as the backends see it."""

    id: str
    token: str


class StoreOptions(TypedDict, total=False):
    """Keyword arguments every buffer store accepts."""

    clock: Clock
    max_attempts: int
    visibility_timeout: float


class BufferStore(ABC):
    """A durable FIFO-ish buffer with leases; backends implement the hooks below."""

    #: True when the backend itself refuses a token superseded by a later claim or a release.
    checks_tokens: ClassVar[bool] = True
    #: True when ``append_each`` writes all its records in one commit, so a caller gathering
    #: concurrent appends (the gateway's event loop) pays one commit (one fsync) for all of them.
    shares_commits: ClassVar[bool] = False

    def __init__(
        self,
        *,
        clock: Clock = time.time,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    ) -> None:
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be >= 1, got {max_attempts}")
        _positive("visibility_timeout", visibility_timeout)
        self.clock = clock
        self.max_attempts = max_attempts
        self.visibility_timeout = float(visibility_timeout)
        self._closed = False

    # -- the API ---------------------------------------------------------------------------

    def append(self, records: Iterable[Incoming]) -> list[str]:
        """Buffer ``records`` as one batch; their ids. Durable when this returns.

        A batch is all or nothing (SQS: every record is checked before any is
        sent, but a send that partly fails raises and leaves what was sent). An id
        still buffered is kept once (memory, SQLite, SQS FIFO within its 5-minute
        dedupe window), so retrying an append whose outcome was unknown does not
        duplicate it there.
        """
        self._check_open()
        now = self.clock()
        batch = list(records)
        # One call for the batch's ids: making them one by one costs more than the insert.
        ids = iter(_ids.take(now, sum(1 for r in batch if r.id is None)))
        built = [_build(incoming, now, ids) for incoming in batch]
        if built:
            self._append(built)
        return [record.id for record in built]

    def append_each(self, records: Sequence[Incoming]) -> list[AppendOutcome]:
        """``append`` each record as its own batch; per record, its id or the error it met.

        A record the buffer refuses fails alone (``InvalidRecordError``). The others
        are written in one commit where the backend ``shares_commits`` (and a failed
        commit fails each of them), else one by one. Durable when this returns;
        errors other than the store's own (bugs) are raised.
        """
        self._check_open()
        now = self.clock()
        ids = iter(_ids.take(now, sum(1 for r in records if r.id is None)))
        outcomes: list[AppendOutcome] = []
        built: list[tuple[int, BufferRecord]] = []
        for incoming in records:
            try:
                record = _build(incoming, now, ids)
            except InvalidRecordError as exc:
                outcomes.append(exc)
                continue
            built.append((len(outcomes), record))
            outcomes.append(record.id)
        groups = [built] if self.shares_commits else [[one] for one in built]
        for group in groups:
            if not group:
                continue
            try:
                self._append([record for _, record in group])
            except (InvalidRecordError, StoreError) as exc:
                for index, _ in group:
                    outcomes[index] = exc
        return outcomes

    def append_one(self, source: str, payload: bytes, meta: Mapping[str, str] | None = None) -> str:
        """``append`` one record; its id."""
        return self.append([Incoming(source, payload, meta or {})])[0]

    def claim(self, limit: int = 10, visibility_timeout: float | None = None) -> list[Claimed]:
        """Up to ``limit`` claimable records, oldest first, each leased for ``visibility_timeout`` s.

        Claimable: never claimed, released, or whose lease ran out. Each claim
        counts an attempt; records past ``max_attempts`` come back with ``poison=True``.
        """
        self._check_open()
        if limit < 1:
            raise ConfigError(f"limit must be >= 1, got {limit}")
        seconds = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        _positive("visibility_timeout", seconds)
        # Taken before the backend call: our lease ends no later than the backend's does.
        now = self.clock()
        lease = Lease(now, seconds, now + seconds, uuid.uuid4().hex)
        return [self._claimed(taken, lease.until) for taken in self._claim(limit, lease)]

    def ack(self, claims: Iterable[Claimed]) -> set[str]:
        """Delete what ``claims`` hold; the ids acked. Stale leases are refused (left out)."""
        self._check_open()
        held = self._live(claims)
        return self._ack(held) if held else set()

    def release(self, claims: Iterable[Claimed], delay: float = 0.0) -> set[str]:
        """Make held records claimable again after ``delay`` seconds; the ids released.

        The attempt counted by the claim stays counted, and the released lease can
        no longer ack (where the backend ``checks_tokens``). Stale leases are refused
        (left out).
        """
        self._check_open()
        if not delay >= 0:
            raise ConfigError(f"delay must be >= 0, got {delay}")
        held = self._live(claims)
        return self._set_visibility(held, self.clock(), delay, keep=False) if held else set()

    def extend(
        self, claims: Iterable[Claimed], visibility_timeout: float | None = None
    ) -> list[Claimed]:
        """Renew live leases to end ``visibility_timeout`` s from now (a heartbeat); the renewed claims."""
        self._check_open()
        seconds = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        _positive("visibility_timeout", seconds)
        given = list(claims)
        now = self.clock()
        held = self._live(given, now)
        renewed = self._set_visibility(held, now, seconds, keep=True) if held else set()
        return [
            Claimed(c.record, c.token, now + seconds, c.poison, c.reason)
            for c in given
            if c.id in renewed
        ]

    def depth(self) -> int:
        """How many records are buffered and not acked (in flight included)."""
        self._check_open()
        return self._depth()

    def oldest_age(self, now: float | None = None) -> float | None:
        """Seconds the record at the head of the buffer has waited; None when empty or unknown (SQS)."""
        self._check_open()
        oldest = self._oldest_received_at()
        if oldest is None:
            return None
        return max(0.0, (self.clock() if now is None else now) - oldest)

    def close(self) -> None:
        """Release the backend's resources; later calls fail. Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def _append(self, records: Sequence[BufferRecord]) -> None:
        """Store ``records`` durably, all or nothing; skip ids already stored."""

    @abstractmethod
    def _claim(self, limit: int, lease: Lease) -> list[Taken]:
        """Atomically take up to ``limit`` records claimable at ``lease.now``, oldest first.

        Each taken record is hidden until ``lease.until``, held by the returned
        token, and has its attempts incremented (the returned record shows the new count).
        """

    @abstractmethod
    def _ack(self, held: Sequence[Held]) -> set[str]:
        """Delete each record still held by its token; the ids deleted."""

    @abstractmethod
    def _set_visibility(
        self, held: Sequence[Held], now: float, seconds: float, *, keep: bool
    ) -> set[str]:
        """Make each record still held by its token claimable at ``now + seconds``; the ids changed.

        ``keep``: the token stays valid (extend); otherwise it no longer is (release).
        """

    @abstractmethod
    def _depth(self) -> int:
        """How many records are stored."""

    @abstractmethod
    def _oldest_received_at(self) -> float | None:
        """``received_at`` of the first record still stored (None: empty, or unknown)."""

    def _close(self) -> None:  # noqa: B027 - optional: only backends holding resources override it
        """Release the backend's resources (nothing by default)."""

    # -- the logic the backends share --------------------------------------------------------

    def _claimed(self, taken: Taken, lease_until: float) -> Claimed:
        record = taken.record
        reason = taken.problem
        if reason is None and record.attempts > self.max_attempts:
            reason = f"claimed {record.attempts} times (max_attempts={self.max_attempts})"
        return Claimed(record, taken.token, lease_until, reason is not None, reason)

    def _live(self, claims: Iterable[Claimed], now: float | None = None) -> list[Held]:
        """The distinct leases among ``claims`` that have not run out."""
        now = self.clock() if now is None else now
        return list(dict.fromkeys(Held(c.id, c.token) for c in claims if now < c.lease_until))

    def _check_open(self) -> None:
        if self._closed:
            raise TerminalStoreError(f"{type(self).__name__} is closed")


def _positive(name: str, seconds: float) -> None:
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"{name} must be a positive number of seconds, got {seconds!r}")


def _build(incoming: Incoming, now: float, ids: Iterator[str]) -> BufferRecord:
    """Check an incoming record and give it an id and a receive time."""
    source, payload, meta = incoming.source, incoming.payload, incoming.meta
    record_id = incoming.id
    if type(payload) is not bytes:
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise InvalidRecordError(
                f"a buffered payload must be bytes, got {type(payload).__name__}",
                location=Location(event_id=record_id),
            )
        payload = bytes(payload)
    if not source or not isinstance(source, str):
        raise InvalidRecordError(
            f"a buffered record needs a source (the gateway route), got {source!r}",
            location=Location(event_id=record_id),
        )
    if meta:
        for key, value in meta.items():
            if not (isinstance(key, str) and isinstance(value, str)):
                raise InvalidRecordError(
                    f"meta must map text to text, got {key!r}: {value!r}",
                    location=Location(event_id=record_id, path=f"meta.{key}"),
                )
        meta = dict(meta)  # a snapshot: the caller may reuse its dict
    if record_id is None:
        record_id = next(ids)
    elif not record_id or not isinstance(record_id, str):
        raise InvalidRecordError(f"a record id must be non-empty text, got {record_id!r}")
    received_at = now if incoming.received_at is None else float(incoming.received_at)
    return BufferRecord(record_id, source, payload, meta, received_at)


class _Ids:
    """UUIDv7s (RFC 9562) that sort in the order this process made them.

    48 bits of milliseconds, then 74 random bits; when the clock stands still (or
    steps back) the previous value plus one is used instead (RFC 9562 §6.2,
    method 2). The random bits only need to keep processes apart, not to be
    unguessable, so a Mersenne Twister seeded from ``os.urandom`` (reseeded in a
    forked child) does, at a sixth of ``os.urandom``'s cost per id.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self._random = random.Random(os.urandom(32))
        os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._random.seed(os.urandom(32))

    def take(self, now: float, count: int) -> list[str]:
        stamp = (int(now * 1000) & (2**48 - 1)) << 74
        bits = self._random.getrandbits
        values = []
        with self._lock:
            last = self._last
            for _ in range(count):
                candidate = stamp | bits(74)
                last = candidate if candidate > last else last + 1
                values.append(last)
            self._last = last
        return [_uuid7_text(value) for value in values]


def _uuid7_text(value: int) -> str:
    # unix_ts_ms (48) | version 7 (4) | rand_a (12) | variant 0b10 (2) | rand_b (62)
    text = f"{(value >> 74) << 80 | _VERSION | (value >> 62 & 0xFFF) << 64 | _VARIANT | (value & _RAND_B):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_VERSION: Final = 0x7 << 76
_VARIANT: Final = 0b10 << 62
_RAND_B: Final = 2**62 - 1
_ids = _Ids()


def new_id(now: float) -> str:
    """A UUIDv7 for ``now`` (epoch seconds) that sorts after every id this process made before."""
    return _ids.take(now, 1)[0]


__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_VISIBILITY_TIMEOUT",
    "AppendOutcome",
    "AppendTimeoutError",
    "BufferRecord",
    "BufferStore",
    "Claimed",
    "Clock",
    "Held",
    "Incoming",
    "InvalidRecordError",
    "Lease",
    "StoreOptions",
    "Taken",
    "new_id",
]
