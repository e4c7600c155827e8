"""Group commit: concurrent appenders share one transaction, and so one fsync.

With ``synchronous=FULL`` every commit waits for an fsync, which costs far more
than writing a few rows; a gateway answering many requests at once would pay one
fsync per request. Here appenders queue their batches, and whoever is at the
front of the queue becomes the *leader*: it takes its own batch plus the batches
queued behind it (up to a size cap), writes them in one transaction, and wakes
the others when the commit is done (LevelDB's writer queue, MySQL's binlog group
commit). While a leader waits for its fsync (the GIL is released), the next
appenders queue up, so the group grows by itself under load, and a lone appender
pays nothing extra: it is its own leader, with no thread hand-off.

Guarantees:
- ``submit`` returns only after the transaction holding its rows committed;
  when the transaction failed, every member of the group gets the error.
- A caller's batch is never split across transactions (all or nothing), and
  rows are written in queue order, so FIFO by arrival holds across callers.
- The wait is bounded: a batch still queued (no leader has taken it) after
  ``timeout`` seconds is withdrawn and ``AppendTimeoutError`` raised — nothing of
  it was written. A batch already taken waits for its transaction, which the
  database's own busy timeout bounds.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from martech_bus.awsapi import StoreError, TransientStoreError
from martech_bus.buffer.base import AppendTimeoutError

Row = tuple[Any, ...]

DEFAULT_MAX_GROUP_ROWS: Final = 1_000
DEFAULT_MAX_GROUP_BYTES: Final = 8 * 1024 * 1024


class _Request:
    __slots__ = ("cv", "done", "error", "rows", "size", "taken")

    def __init__(self, rows: Sequence[Row], size: int) -> None:
        self.rows = rows
        self.size = size
        self.taken = False  # a leader is writing it: it can no longer be withdrawn
        self.done = False
        self.error: BaseException | None = None
        self.cv: threading.Condition | None = None  # made only when the request has to wait


class GroupCommit:
    """Serialises ``write`` (one transaction per call) and merges concurrent callers into it."""

    def __init__(
        self,
        write: Callable[[list[Row]], None],
        *,
        timeout: float,
        max_rows: int = DEFAULT_MAX_GROUP_ROWS,
        max_bytes: int = DEFAULT_MAX_GROUP_BYTES,
        what: str = "buffer",
    ) -> None:
        self._write = write
        self.timeout = timeout
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self._what = what
        self._mutex = threading.Lock()
        self._queue: deque[_Request] = deque()
        self.commits = 0  # transactions written (for tests and benchmarks)
        self.batches = 0  # caller batches written

    @property
    def pending(self) -> int:
        """Batches queued or being written right now."""
        with self._mutex:
            return len(self._queue)

    def submit(self, rows: Sequence[Row], size: int = 0) -> None:
        """Write ``rows`` (about ``size`` bytes) durably; return when their transaction committed."""
        request = _Request(rows, size)
        with self._mutex:
            self._queue.append(request)
            if self._queue[0] is not request:
                try:
                    self._wait(request)
                except BaseException:
                    self._withdraw(request)  # a timeout, or KeyboardInterrupt while waiting
                    raise
                if request.done:
                    if request.error is not None:
                        raise _shared(request.error, self._what) from request.error
                    return
            group = self._take_group()
        self._lead(group)

    def _wait(self, request: _Request) -> None:
        """Under the mutex: wait until ``request`` is done or at the front of the queue."""
        cv = request.cv = threading.Condition(self._mutex)
        deadline = time.monotonic() + self.timeout
        while not request.done and self._queue[0] is not request:
            if request.taken:
                cv.wait()  # its transaction runs; the database's busy timeout bounds it
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AppendTimeoutError(
                    f"{self._what}: the append waited {self.timeout:g} s for a transaction and was "
                    "withdrawn; nothing of it was written"
                )
            cv.wait(remaining)

    def _withdraw(self, request: _Request) -> None:
        """Under the mutex: take a request no leader has taken out of the queue (else leave it)."""
        if request.taken or request.done:
            return  # its leader pops it and writes it anyway
        was_front = self._queue[0] is request
        self._queue.remove(request)
        if was_front and self._queue and self._queue[0].cv is not None:
            self._queue[0].cv.notify()  # it would have led; the next one must

    def _take_group(self) -> list[_Request]:
        """Under the mutex, at the front: this request plus those queued behind it, within the caps."""
        group = [self._queue[0]]
        rows, size = len(group[0].rows), group[0].size
        for other in itertools.islice(self._queue, 1, None):
            rows, size = rows + len(other.rows), size + other.size
            if rows > self.max_rows or size > self.max_bytes:
                break
            group.append(other)
        for member in group:
            member.taken = True
        return group

    def _lead(self, group: list[_Request]) -> None:
        error: BaseException | None = None
        try:
            if len(group) == 1:
                self._write(list(group[0].rows))
            else:
                self._write([row for member in group for row in member.rows])
        except BaseException as exc:
            error = exc
        with self._mutex:
            if error is None:
                self.commits += 1
                self.batches += len(group)
            for member in group:
                # Only this leader pops: taken requests sit at the front, in group order.
                self._queue.popleft()
                if member is not group[0]:
                    member.error, member.done = error, True
                    assert member.cv is not None  # followers always wait
                    member.cv.notify()
            if self._queue and self._queue[0].cv is not None:
                self._queue[0].cv.notify()  # the next leader
        if error is not None:
            raise error


def _shared(error: BaseException, what: str) -> BaseException:
    """A fresh exception for a follower: one object raised in several threads would share a traceback."""
    if isinstance(error, StoreError):
        return type(error)(error.message, location=error.location).with_traceback(None)
    return TransientStoreError(f"{what}: the group commit failed: {error}")
