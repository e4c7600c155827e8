"""What the JSON-lines store adds: append-only lines, folding, torn writes, compaction."""

from __future__ import annotations

import json
import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from martech_bus.sinks.dlq_jsonl import JsonlDeadLetterStore
from tests.stores.conftest import T0, DateClock
from tests.stores.test_dlq_contract import letter


@pytest.fixture
def store(tmp_path: Path, date_clock: DateClock) -> JsonlDeadLetterStore:
    return JsonlDeadLetterStore(tmp_path / "dlq.jsonl", fsync=False, clock=date_clock)


def test_updates_and_deletes_append_and_never_rewrite(store: JsonlDeadLetterStore) -> None:
    first, second = store.put(letter(1)), store.put(letter(2))
    before = store.path.read_bytes()
    store.mark_replayed(first.id)
    store.delete(second.id)
    after = store.path.read_bytes()
    assert after.startswith(before)
    lines = [json.loads(line) for line in after.decode().splitlines()]
    assert len(lines) == 4
    assert lines[2]["id"] == first.id and lines[2]["replay_count"] == 1
    assert lines[3] == {"deleted": second.id}
    assert [r.id for r in store.list(include_replayed=True)] == [first.id]


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_a_fresh_line(
    store: JsonlDeadLetterStore, caplog: pytest.LogCaptureFixture
) -> None:
    kept = store.put(letter(1))
    with store.path.open("a", encoding="utf-8") as f:
        f.write('{"id": "half-writ')  # the process died mid-write
    with caplog.at_level(logging.WARNING):
        assert store.list() == [kept]
    assert "dlq.jsonl:2: skipping an unreadable line" in caplog.text
    later = store.put(letter(2))
    assert store.list() == [kept, later]


def test_compaction_keeps_only_current_records(store: JsonlDeadLetterStore) -> None:
    records = [store.put(letter(n, at=T0 + timedelta(minutes=n))) for n in range(1, 5)]
    store.mark_replayed(records[0].id)
    store.delete(records[1].id)
    current = store.list(include_replayed=True)
    store.compact()
    assert len(store.path.read_text().splitlines()) == 3
    assert store.list(include_replayed=True) == current
    assert not store.path.with_name("dlq.jsonl.compacting").exists()


def test_the_file_is_private_and_lives_under_the_data_dir_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path / "data"))
    store = JsonlDeadLetterStore()
    store.put(letter())
    assert store.path == tmp_path / "data" / "dlq.jsonl"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600  # dead letters hold personal data
    assert JsonlDeadLetterStore().count() == 1


def test_a_missing_file_is_an_empty_store(tmp_path: Path) -> None:
    store = JsonlDeadLetterStore(tmp_path / "never" / "written.jsonl")
    assert store.list() == [] and store.count() == 0
