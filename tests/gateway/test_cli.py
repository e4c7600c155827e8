"""``martech-bus gateway ...``: serve's binding rules, quarantine list and replay."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer

from martech_bus.buffer.select import buffer_store
from martech_bus.cli.gateway import main
from martech_bus.gateway.quarantine import QuarantinedItem, quarantine_store
from martech_bus.gateway.sources import CANONICAL, FIXTURE_RECEIVED_AT
from tests.gateway.helpers import (
    ENVIRON,
    ROOT,
    SCHEMAS,
    SOURCES,
    TOKEN,
    free_port,
    order,
    segment_headers,
)

TRACK = (SOURCES / "segment" / "fixtures" / "track_order_completed.input.json").read_bytes()
EXPECTED_ID = json.loads(
    (SOURCES / "segment" / "fixtures" / "track_order_completed.expected.json").read_text()
)[0]["event_id"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    values = {
        "MARTECH_BUS_QUARANTINE": f"sqlite:{tmp_path / 'quarantine.sqlite3'}",
        "MARTECH_BUS_BUFFER": f"sqlite:{tmp_path / 'buffer.sqlite3'}",
        "MARTECH_BUS_SOURCES_DIR": str(sources),
        "MARTECH_BUS_SCHEMAS_DIR": str(SCHEMAS),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MARTECH_BUS_GATEWAY_TOKENS", raising=False)
    return values


def _quarantine(settings: dict[str, str], payload: bytes = TRACK, item: int | None = 0) -> None:
    quarantine_store(settings["MARTECH_BUS_QUARANTINE"]).put(
        QuarantinedItem(
            record_id="r-1",
            item=item,
            source="segment",
            payload=payload,
            received_at=FIXTURE_RECEIVED_AT,
            quarantined_at=FIXTURE_RECEIVED_AT,
            reason="inbound mapping 'order_completed' made an invalid event",
            problems=("properties.currency: missing required field",),
        )
    )


def test_serve_refuses_a_public_address_without_tokens(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    code, _, err = run(capsys, "serve", "--host", "0.0.0.0")

    assert code == 2
    assert "MARTECH_BUS_GATEWAY_TOKENS" in err
    assert "refusing to listen on '0.0.0.0'" in err


def test_serve_reports_broken_sources_before_listening(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    manifest = Path(settings["MARTECH_BUS_SOURCES_DIR"]) / "shopify" / "source.yaml"
    manifest.write_text(manifest.read_text().replace("kind: shopify", "kind: shopfy"))

    code, _, err = run(capsys, "serve")

    assert code == 2
    assert "source.yaml:4" in err and "did you mean 'shopify'" in err


@pytest.mark.integration
def test_serve_in_development_mode_warns_and_takes_local_events_without_a_token(
    settings: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "martech_bus.gateway", "serve", "--port", str(port)],
            env={k: v for k, v in os.environ.items() if k != "MARTECH_BUS_GATEWAY_TOKENS"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            answer = _post_when_up(f"http://127.0.0.1:{port}/v1/events", json.dumps(order()))
        finally:
            process.terminate()
            process.wait(10)

    assert answer.status_code == 202
    assert "development mode" in log.read_text()


def _post_when_up(url: str, content: str, headers: dict[str, str] | None = None) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.post(
                url, content=content, headers=headers or {"Content-Type": "application/json"}
            )
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_quarantine_list_shows_items_with_their_reasons(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    _quarantine(settings)

    code, out, _ = run(capsys, "quarantine", "list")

    assert code == 0
    assert "r-1#0" in out and "segment" in out
    assert "properties.currency" in out


def test_quarantine_list_filters_by_source(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    _quarantine(settings)

    _, out, _ = run(capsys, "quarantine", "list", "--source", "shopify")

    assert "0 quarantined items" in out


def test_quarantine_replay_dry_run_changes_nothing(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    _quarantine(settings)

    code, out, _ = run(capsys, "quarantine", "replay", "--dry-run")

    assert code == 0
    assert "would replay 1 (1 events)" in out
    assert quarantine_store(settings["MARTECH_BUS_QUARANTINE"]).count() == 1


def test_quarantine_replay_buffers_what_now_normalizes(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    _quarantine(settings)

    code, out, _ = run(capsys, "quarantine", "replay", "--source", "segment")

    assert code == 0
    assert "replayed 1 (1 events buffered)" in out
    assert quarantine_store(settings["MARTECH_BUS_QUARANTINE"]).count() == 0
    with buffer_store(settings["MARTECH_BUS_BUFFER"]) as buffer:
        [claim] = buffer.claim()
    assert claim.record.source == CANONICAL


def test_quarantine_replay_exits_1_while_an_item_still_fails(
    capsys: pytest.CaptureFixture[str], settings: dict[str, str]
) -> None:
    _quarantine(settings, payload=b"<not json>", item=None)

    code, out, _ = run(capsys, "quarantine", "replay")

    assert code == 1
    assert "still failing 1" in out
    assert quarantine_store(settings["MARTECH_BUS_QUARANTINE"]).count() == 1


@pytest.mark.integration
def test_serve_with_an_adapter_drains_webhooks_to_the_vendor(
    settings: dict[str, str], tmp_path: Path, httpserver: HTTPServer
) -> None:
    from martech_bus.testing.vendor import stub_adapters

    httpserver.expect_request("/2/httpapi", method="POST").respond_with_json({"code": 200})
    adapters = stub_adapters(
        ROOT / "adapters",
        tmp_path / "adapters",
        httpserver.url_for("/").rstrip("/"),
        names=["amplitude"],
    )
    port = free_port()
    env = {
        **os.environ,
        **ENVIRON,
        "MARTECH_BUS_GATEWAY_TOKENS": TOKEN,
        "MARTECH_BUS_DATA_DIR": str(tmp_path / "data"),
        "AMPLITUDE_API_KEY": "key",
    }
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "martech_bus.gateway",
                "serve",
                "--port",
                str(port),
                "--adapter",
                "amplitude",
                "--adapters",
                str(adapters),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            answer = _post_when_up(
                url + "/v1/sources/segment", TRACK.decode(), segment_headers(TRACK)
            )
            deadline = time.monotonic() + 20
            while not httpserver.log and time.monotonic() < deadline:
                time.sleep(0.05)
            metrics = httpx.get(url + "/metrics").text
        finally:
            process.terminate()
            process.wait(10)

    [(request, _)] = httpserver.log
    assert answer.status_code == 202
    assert EXPECTED_ID in request.get_data(as_text=True)
    assert 'martech_bus_events_total{integration="amplitude",outcome="delivered"} 1' in metrics
