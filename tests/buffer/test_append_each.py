"""``append_each``: one outcome per record, one commit where the backend shares commits."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from martech_bus.awsapi import TransientStoreError
from martech_bus.buffer import Incoming, InvalidRecordError, MemoryBufferStore
from martech_bus.buffer.base import BufferRecord


class _Failing(MemoryBufferStore):
    """Records every ``_append`` call; fails those holding ``fail_on`` (or all, with an error)."""

    def __init__(self, fail_on: bytes | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.error = error or TransientStoreError("disk I/O error")

    def _append(self, records: Sequence[BufferRecord]) -> None:
        self.calls.append(len(records))
        if self.fail_on is None or any(r.payload == self.fail_on for r in records):
            raise self.error
        super()._append(records)


class _OneByOne(_Failing):
    shares_commits = False


RECORDS = [Incoming("segment", b"a"), Incoming("", b"refused"), Incoming("segment", b"b")]


def test_a_shared_commit_that_fails_fails_each_of_its_records() -> None:
    store = _Failing()
    a, refused, b = store.append_each(RECORDS)
    assert store.calls == [2]  # one commit for the two valid records
    assert isinstance(refused, InvalidRecordError)
    assert isinstance(a, TransientStoreError) and b is a
    assert store.depth() == 0


def test_without_shared_commits_each_record_is_written_on_its_own() -> None:
    store = _OneByOne(fail_on=b"a")
    a, refused, b = store.append_each(RECORDS)
    assert store.calls == [1, 1]
    assert isinstance(a, TransientStoreError)
    assert isinstance(refused, InvalidRecordError)
    assert isinstance(b, str)
    assert [c.record.payload for c in store.claim(10)] == [b"b"]


def test_an_error_that_is_not_the_stores_is_raised() -> None:
    store = _Failing(error=RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        store.append_each(RECORDS)


def test_nothing_to_write_writes_nothing() -> None:
    store = _Failing()
    assert store.append_each([]) == []
    assert store.calls == []
