"""Which offset each partition may commit: just past the longest finished prefix of what was fetched.

Offsets are tracked in fetch order, not by arithmetic: a partition can have gaps
(transaction markers, compaction), so "contiguous" means "every fetched record
before it is finished". A record delivered out of order (a retry holds an earlier
one) never moves the commit position past the unfinished record.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

#: (topic, partition)
PartitionKey = tuple[str, int]


class PartitionOffsets:
    """One partition: fetched offsets not yet behind the commit position, and which are finished."""

    __slots__ = ("_finished", "_open", "committed", "position")

    def __init__(self) -> None:
        self._open: deque[int] = deque()  # fetched, in order, at or after the first unfinished one
        self._finished: set[int] = set()  # finished members of _open
        self.position: int | None = None  # the next offset to read: what a commit would store
        self.committed: int | None = None  # the last position committed

    def fetched(self, offset: int) -> None:
        """Note a fetched record (in fetch order; a repeat of a known offset is ignored)."""
        if self._open:
            if offset <= self._open[-1]:
                return
        elif self.position is not None and offset < self.position:
            return
        self._open.append(offset)

    def finished(self, offset: int) -> None:
        """Note a record delivered, skipped or dead-lettered: nothing is left to do for it."""
        self._finished.add(offset)
        while self._open and self._open[0] in self._finished:
            done = self._open.popleft()
            self._finished.discard(done)
            self.position = done + 1

    @property
    def unfinished(self) -> int:
        """Fetched records not yet finished."""
        return len(self._open) - len(self._finished)

    @property
    def dirty(self) -> bool:
        """True when the position moved since the last commit."""
        return self.position is not None and self.position != self.committed


class OffsetTracker:
    """Commit positions for every assigned partition."""

    def __init__(self) -> None:
        self._partitions: dict[PartitionKey, PartitionOffsets] = {}

    def assign(self, keys: Iterable[PartitionKey]) -> None:
        """Start tracking ``keys`` afresh (a new assignment resumes from the committed offsets)."""
        for key in keys:
            self._partitions[key] = PartitionOffsets()

    def forget(self, keys: Iterable[PartitionKey]) -> None:
        """Stop tracking ``keys`` (revoked or lost)."""
        for key in keys:
            self._partitions.pop(key, None)

    def fetched(self, key: PartitionKey, offset: int) -> None:
        self._partition(key).fetched(offset)

    def finished(self, key: PartitionKey, offset: int) -> None:
        self._partition(key).finished(offset)

    def _partition(self, key: PartitionKey) -> PartitionOffsets:
        # A record can arrive before its assignment was seen (a consumer without callbacks).
        found = self._partitions.get(key)
        if found is None:
            found = self._partitions[key] = PartitionOffsets()
        return found

    def to_commit(
        self, keys: Iterable[PartitionKey] | None = None
    ) -> list[tuple[PartitionKey, int]]:
        """(partition, position) for each partition in ``keys`` (default all) whose position moved."""
        chosen = self._partitions if keys is None else {k: self._partitions.get(k) for k in keys}
        return [
            (key, offsets.position)
            for key, offsets in chosen.items()
            if offsets is not None and offsets.dirty and offsets.position is not None
        ]

    def committed(self, key: PartitionKey, position: int) -> None:
        """Record a successful commit of ``position``."""
        offsets = self._partitions.get(key)
        if offsets is not None:
            offsets.committed = position

    def unfinished(self) -> int:
        """Fetched records not yet finished, over every partition."""
        return sum(offsets.unfinished for offsets in self._partitions.values())

    def positions(self) -> dict[PartitionKey, int | None]:
        """The commit position of each tracked partition (None before anything finished)."""
        return {key: offsets.position for key, offsets in self._partitions.items()}
