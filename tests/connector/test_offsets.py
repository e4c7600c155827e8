"""Commit positions: just past the longest finished prefix of what was fetched, per partition."""

from __future__ import annotations

from martech_bus.connector.offsets import OffsetTracker, PartitionOffsets

A, B = ("orders", 0), ("orders", 1)


def test_the_position_moves_only_over_finished_records_in_fetch_order() -> None:
    offsets = PartitionOffsets()
    for offset in range(5):
        offsets.fetched(offset)
    assert offsets.position is None and offsets.unfinished == 5
    offsets.finished(1)
    offsets.finished(2)
    assert offsets.position is None  # 0 is unfinished: nothing may be committed
    offsets.finished(0)
    assert offsets.position == 3 and offsets.unfinished == 2
    offsets.finished(4)
    assert offsets.position == 3  # never past the unfinished 3
    offsets.finished(3)
    assert offsets.position == 5 and offsets.unfinished == 0


def test_gaps_in_offsets_are_not_waited_for() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 14, 20):  # transaction markers and compaction leave gaps
        offsets.fetched(offset)
    for offset in (10, 11, 14, 20):
        offsets.finished(offset)
    assert offsets.position == 21


def test_a_record_fetched_twice_is_tracked_once() -> None:
    offsets = PartitionOffsets()
    offsets.fetched(0)
    offsets.fetched(0)
    offsets.finished(0)
    assert offsets.position == 1 and offsets.unfinished == 0
    offsets.fetched(0)  # behind the position: already done
    assert offsets.unfinished == 0


def test_the_tracker_reports_only_moved_positions_and_forgets_revoked_partitions() -> None:
    tracker = OffsetTracker()
    tracker.assign([A, B])
    tracker.fetched(A, 0)
    tracker.fetched(B, 0)
    tracker.finished(A, 0)
    assert tracker.to_commit() == [(A, 1)]
    tracker.committed(A, 1)
    assert tracker.to_commit() == []
    tracker.finished(B, 0)
    assert tracker.to_commit([A]) == [] and tracker.to_commit([B]) == [(B, 1)]
    tracker.forget([B])
    assert tracker.to_commit() == [] and tracker.positions() == {A: 1}
    tracker.assign([A])  # assigned again: starts afresh from the committed offset
    assert tracker.positions() == {A: None} and tracker.unfinished() == 0
