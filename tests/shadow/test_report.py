"""The shadow report and ``martech-bus shadow report``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from martech_bus.cli.main import main
from martech_bus.routing.stamp import DirectResult
from martech_bus.shadow.compare import compare
from martech_bus.shadow.report import shadow_report
from martech_bus.shadow.sqlite import SqliteShadowStore
from martech_bus.sinks.base import Delivery, Outcome, OutcomeKind

EVENT = {"event_id": "e1", "event_type": "order_completed", "source": "shopify"}


def sent(payload: dict[str, object], event_id: str = "e1") -> Delivery:
    return Delivery(event_id, "braze", 3, payload, {**EVENT, "event_id": event_id})


def test_identical_payloads_match() -> None:
    result = compare("braze", EVENT, DirectResult({"a": 1}, 3), sent({"a": 1}), 1.0)
    assert result.matched and result.differences == ()


def test_skipping_on_both_paths_is_a_match() -> None:
    skipped = Outcome("e1", OutcomeKind.SKIPPED, "consent: marketing denied")
    result = compare("braze", EVENT, DirectResult(skipped="consent denied"), skipped, 1.0)
    assert result.matched


def test_sending_on_one_path_only_is_a_mismatch() -> None:
    result = compare("braze", EVENT, DirectResult(skipped="consent denied"), sent({"a": 1}), 1.0)
    assert not result.matched
    assert result.direct_skipped == "consent denied" and result.bus_skipped is None


def test_a_record_without_a_direct_result_is_a_mismatch() -> None:
    assert not compare("braze", EVENT, None, sent({"a": 1}), 1.0).matched


def test_the_bus_payload_is_compared_as_json_so_dates_match_their_text() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 2, tzinfo=UTC)
    result = compare("braze", EVENT, DirectResult({"t": str(moment)}, 3), sent({"t": moment}), 1.0)
    assert result.matched


@pytest.fixture
def store(tmp_path: Path) -> SqliteShadowStore:
    store = SqliteShadowStore(tmp_path / "shadow.sqlite3")
    store.record(
        compare("braze", EVENT, DirectResult({"a": 1, "b": 2}, 3), sent({"a": 1, "b": 2}), 1.0)
    )
    for n in (2, 3):
        event = {**EVENT, "event_id": f"e{n}"}
        store.record(
            compare(
                "braze",
                event,
                DirectResult({"a": 1, "b": 2}, 3),
                sent({"a": 1, "b": 9}, f"e{n}"),
                float(n),
            )
        )
    other = {**EVENT, "event_id": "e4", "source": "segment"}
    store.record(
        compare("braze", other, DirectResult(skipped="consent"), sent({"a": 1}, "e4"), 4.0)
    )
    return store


def test_the_report_gives_the_match_rate_and_the_most_frequent_differences(
    store: SqliteShadowStore,
) -> None:
    report = shadow_report(store, "braze")
    assert (report.compared, report.matched) == (4, 1)
    assert report.match_rate == 0.25
    (path,) = report.paths
    assert (path.path, path.kind, path.events) == ("b", "changed", 2)
    assert report.skip_mismatches == [
        {"event_id": "e4", "event_type": "order_completed", "direct": "consent", "bus": "sent"}
    ]


def test_a_source_scoped_integration_reports_only_that_sources_events(
    store: SqliteShadowStore,
) -> None:
    report = shadow_report(store, "shopify:braze")
    assert report.compared == 3


def test_the_cli_prints_the_report_as_json(
    store: SqliteShadowStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["shadow", "report", "braze", "--store", f"sqlite:{store.path}", "--format", "json"]
    )
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["match_rate"] == 0.25
    assert shown["differences"][0]["path"] == "b"


def test_the_cli_table_names_the_match_rate_and_the_differing_fields(
    store: SqliteShadowStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shadow", "report", "braze", "--store", f"sqlite:{store.path}"]) == 0
    out = capsys.readouterr().out
    assert "25.00% matched" in out and "changed" in out


def test_the_cli_says_how_to_start_when_nothing_was_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shadow", "report", "braze", "--store", f"sqlite:{tmp_path / 'x.db'}"]) == 0
    assert "no shadow comparisons for braze" in capsys.readouterr().out


def test_the_cli_rejects_an_unknown_format(tmp_path: Path) -> None:
    assert main(["shadow", "report", "braze", "--format", "xml"]) == 2
