"""Delivered-event dedupe: claim a key with a lease, then complete or release the claim.

Direct delivery and bus delivery can race for one event while a migration runs
both paths, so "check, then mark" would let both send. A sender *claims* the
key instead: a conditional write that only succeeds when no live record exists.
The claim holds a lease, so a crashed sender's claim frees itself; completing
turns it into a delivered record that blocks claims until its TTL; releasing a
failed attempt frees the key at once.

Every record has one deadline, ``until``: the end of a lease, or when a delivered
record expires. A record blocks claims while ``now < until``; past it the record
counts as absent whether or not the backend has deleted it yet (DynamoDB's TTL
deletes lazily, moto never).
"""

from __future__ import annotations

import enum
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Self, TypedDict

from martech_bus.errors import ConfigError, TerminalError

#: Seconds since the epoch, like ``time.time`` (DynamoDB's TTL wants epoch seconds too).
Clock = Callable[[], float]

DEFAULT_LEASE: Final = timedelta(minutes=5)
DEFAULT_TTL: Final = timedelta(days=7)


class IdempotencyKeyError(TerminalError, ValueError):
    """An idempotency key that is not a non-empty string."""


class Status(enum.StrEnum):
    """What a record says about its key."""

    CLAIMED = "claimed"  # a sender holds a lease and may be sending right now
    DELIVERED = "delivered"  # the vendor has it; do not send again before the record expires


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored record: the backends' unit of storage."""

    key: str
    status: Status
    token: str  # who holds the claim: only the holder may release it
    until: float  # lease end (claimed) or expiry (delivered), epoch seconds

    def blocks(self, now: float) -> bool:
        """True while this record keeps others from claiming its key."""
        return now < self.until


@dataclass(frozen=True, slots=True)
class Claim:
    """The right to send one delivery until ``lease_until``; complete or release it."""

    key: str
    token: str
    lease_until: float
    store: IdempotencyStore = field(repr=False, compare=False)

    def complete(self) -> None:
        """Mark the key delivered (see ``IdempotencyStore.complete``)."""
        self.store.complete(self)

    def release(self) -> bool:
        """Give the key back for a retry (see ``IdempotencyStore.release``)."""
        return self.store.release(self)


class StoreOptions(TypedDict, total=False):
    """Keyword arguments every idempotency store accepts."""

    lease: timedelta
    ttl: timedelta
    clock: Clock


class IdempotencyStore(ABC):
    """Claims, completions and releases of delivery keys; backends implement the hooks below."""

    def __init__(
        self,
        *,
        lease: timedelta = DEFAULT_LEASE,
        ttl: timedelta = DEFAULT_TTL,
        clock: Clock = time.time,
    ) -> None:
        if lease <= timedelta(0) or ttl <= timedelta(0):
            raise ConfigError(f"lease ({lease}) and ttl ({ttl}) must be positive")
        self.lease = lease
        self.ttl = ttl
        self.clock = clock

    # -- the API ---------------------------------------------------------------------------

    def claim(self, key: str) -> Claim | None:
        """A claim on ``key``, or None when it is delivered or someone else holds a live lease."""
        return self.claim_many([key])[key]

    def claim_many(self, keys: Iterable[str]) -> dict[str, Claim | None]:
        """``claim`` for a batch (one transaction where the backend has them); a repeated key is claimed once."""
        now = self.clock()
        until = now + self.lease.total_seconds()
        wanted = [
            Entry(_checked(key), Status.CLAIMED, uuid.uuid4().hex, until)
            for key in dict.fromkeys(keys)
        ]
        won = self._claim(wanted, now) if wanted else set()
        return {
            entry.key: Claim(entry.key, entry.token, until, self) if entry.key in won else None
            for entry in wanted
        }

    def complete(self, claim: Claim) -> None:
        """Mark ``claim``'s key delivered until the TTL runs out.

        This holds even when the lease ran out meanwhile: the vendor has the event,
        so recording that is right whoever claimed the key since.
        """
        self.complete_many([claim])

    def complete_many(self, claims: Iterable[Claim]) -> None:
        """``complete`` for a batch."""
        until = self.clock() + self.ttl.total_seconds()
        entries = [Entry(c.key, Status.DELIVERED, c.token, until) for c in claims]
        if entries:
            self._mark_delivered(entries)

    def release(self, claim: Claim) -> bool:
        """Free the key for a retry; False when the lease had already passed to someone else."""
        return claim.key in self.release_many([claim])

    def release_many(self, claims: Iterable[Claim]) -> set[str]:
        """``release`` for a batch: the keys that were still held and are now free."""
        held = [(c.key, c.token) for c in claims]
        return self._release(held) if held else set()

    def is_delivered(self, key: str) -> bool:
        """True when ``key`` was delivered and its record has not expired."""
        return key in self.delivered([key])

    def delivered(self, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` that are delivered and not expired."""
        now = self.clock()
        found = self._get_many([_checked(key) for key in dict.fromkeys(keys)])
        return {
            key
            for key, entry in found.items()
            if entry.status is Status.DELIVERED and entry.blocks(now)
        }

    def purge_expired(self) -> int:
        """Delete records past their deadline (housekeeping; reads ignore them anyway)."""
        return self._purge(self.clock())

    def close(self) -> None:  # noqa: B027 - optional: only backends holding resources override it
        """Release the backend's resources (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def _claim(self, entries: Sequence[Entry], now: float) -> set[str]:
        """Atomically per key: write each entry unless a record that ``blocks(now)`` exists; the keys written."""

    @abstractmethod
    def _mark_delivered(self, entries: Sequence[Entry]) -> None:
        """Write each entry, replacing whatever record its key has."""

    @abstractmethod
    def _release(self, held: Sequence[tuple[str, str]]) -> set[str]:
        """Delete each (key, token) record that is still CLAIMED with that token; the keys deleted."""

    @abstractmethod
    def _get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        """The stored records of ``keys``, expired ones included (the base class judges expiry)."""

    @abstractmethod
    def _purge(self, now: float) -> int:
        """Delete records with ``until <= now``; how many."""


def _checked(key: str) -> str:
    if not isinstance(key, str) or not key:
        raise IdempotencyKeyError(f"an idempotency key must be a non-empty string, got {key!r}")
    return key
