"""`martech-bus dlq ...`: list, show and replay dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.backends import dead_letter_store
from martech_bus.cli.main import main
from martech_bus.sinks.dlq import DeadLetter
from martech_bus.testing.vendor import stub_adapters

ROOT = Path(__file__).resolve().parents[2]
WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def order(n: int) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (ROOT / "examples" / "events" / "order_completed.json").read_text()
    )
    event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
    return event


def dead_letter(n: int, *, vendor: str = "meta_capi", when: datetime = WHEN) -> DeadLetter:
    return DeadLetter(
        id=f"dl-{n}",
        event_id=order(n)["event_id"],
        vendor=vendor,
        mapping_version=3,
        event=order(n),
        reason="HTTP 503 after 5 attempts",
        dead_lettered_at=when,
        attempts=5,
    )


@pytest.fixture
def store_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> str:
    setting = f"sqlite:{tmp_path / 'dlq.sqlite3'}"
    adapters = stub_adapters(
        ROOT / "adapters", tmp_path / "adapters", httpserver.url_for("/").rstrip("/")
    )
    for name, value in {
        "MARTECH_BUS_DLQ": setting,
        "MARTECH_BUS_IDEMPOTENCY": f"sqlite:{tmp_path / 'idempotency.sqlite3'}",
        "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
        "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
        "META_PIXEL_ID": "42",
        "META_ACCESS_TOKEN": "token-value",
    }.items():
        monkeypatch.setenv(name, value)
    return setting


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dlq_list_shows_waiting_dead_letters(
    capsys: pytest.CaptureFixture[str], store_setting: str
) -> None:
    store = dead_letter_store(store_setting)
    store.put(dead_letter(1))
    store.put(dead_letter(2, vendor="braze"))
    code, out, _ = run(capsys, "dlq", "list", "--vendor", "braze")
    assert code == 0
    assert "dl-2" in out
    assert "dl-1" not in out


def test_dlq_list_filters_by_time(capsys: pytest.CaptureFixture[str], store_setting: str) -> None:
    store = dead_letter_store(store_setting)
    store.put(dead_letter(1, when=datetime(2026, 1, 1, tzinfo=UTC)))
    store.put(dead_letter(2))
    code, out, _ = run(capsys, "dlq", "list", "--since", "2026-06-01")
    assert code == 0
    assert "dl-2" in out
    assert "dl-1" not in out


def test_dlq_list_with_a_bad_since_is_bad_input(
    capsys: pytest.CaptureFixture[str], store_setting: str
) -> None:
    code, _, err = run(capsys, "dlq", "list", "--since", "last tuesday")
    assert code == 2
    assert "ISO 8601" in err


def test_dlq_show_prints_the_record(capsys: pytest.CaptureFixture[str], store_setting: str) -> None:
    dead_letter_store(store_setting).put(dead_letter(1))
    code, out, _ = run(capsys, "dlq", "show", "dl-1")
    assert code == 0
    assert json.loads(out)["reason"] == "HTTP 503 after 5 attempts"


def test_dlq_show_of_an_unknown_id_is_bad_input(
    capsys: pytest.CaptureFixture[str], store_setting: str
) -> None:
    code, _, err = run(capsys, "dlq", "show", "nope")
    assert code == 2
    assert "nope" in err


def test_dlq_replay_dry_run_changes_nothing(
    capsys: pytest.CaptureFixture[str], store_setting: str
) -> None:
    store = dead_letter_store(store_setting)
    store.put(dead_letter(1))
    code, out, _ = run(capsys, "dlq", "replay", "--dry-run")
    assert code == 0
    assert "would replay 1" in out
    assert store.count() == 1


def test_dlq_replay_delivers_and_marks_records_replayed(
    capsys: pytest.CaptureFixture[str], store_setting: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v19.0/42/events", method="POST").respond_with_json(
        {"events_received": 1}
    )
    store = dead_letter_store(store_setting)
    store.put(dead_letter(1))
    code, out, _ = run(capsys, "dlq", "replay")
    assert code == 0
    assert "replayed 1, still failing 0" in out
    assert store.count() == 0
    assert store.get("dl-1").replay_count == 1


def test_dlq_replay_keeps_a_record_that_still_fails_and_exits_1(
    capsys: pytest.CaptureFixture[str], store_setting: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v19.0/42/events", method="POST").respond_with_json(
        {"error": {"message": "bad"}}, status=400
    )
    store = dead_letter_store(store_setting)
    store.put(dead_letter(1))
    code, out, _ = run(capsys, "dlq", "replay")
    assert code == 1
    assert "still failing 1" in out
    assert [record.id for record in store.list()] == ["dl-1"]  # kept once, not duplicated
