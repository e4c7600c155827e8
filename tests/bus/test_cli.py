"""`martech-bus bus ...`: publish, tail, topics; exit codes 0 ok, 1 a check failed, 2 bad input."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from martech_bus.cli import main as cli_main
from martech_bus.cli.main import main

pytestmark = pytest.mark.integration

Make = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module", autouse=True)
def _bus_commands() -> Iterator[None]:
    """Mount `bus` on the root command when main.py does not (yet) do it itself."""
    from martech_bus.cli import bus

    groups = cli_main.app.registered_groups
    mounted = not any(group.name == "bus" for group in groups)
    if mounted:
        cli_main.app.add_typer(bus.app, name="bus")
    yield
    if mounted:
        groups[:] = [group for group in groups if group.typer_instance is not bus.app]


@pytest.fixture(autouse=True)
def _settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, schemas_dir: Path, kafka_bootstrap: str
) -> str:
    """The repo catalogue, this test's own topic names, and the session broker."""
    prefix = f"c{uuid.uuid4().hex[:10]}"
    config = tmp_path / "bus.yaml"
    config.write_text(
        f'topic_pattern: "{prefix}.{{event}}.v{{major}}"\n'
        "defaults:\n  partitions: 2\n  replication_factor: 1\n"
        "  config:\n    retention.ms: 3600000\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MARTECH_BUS_SCHEMAS_DIR", str(schemas_dir))
    monkeypatch.setenv("MARTECH_BUS_BUS_CONFIG", str(config))
    monkeypatch.setenv("MARTECH_BUS_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.delenv("MARTECH_BUS_SCHEMA_REGISTRY_URL", raising=False)
    return prefix


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def events_file(path: Path, *events: Any) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def topic(capsys: pytest.CaptureFixture[str]) -> str:
    """The order_completed topic under this test's bus.yaml (created by `bus topics --apply`)."""
    code, out, _ = run(capsys, "bus", "topics", "--apply")
    assert code == 0, out
    return next(word for word in out.split() if word.endswith(".order_completed.v1"))


# --------------------------------------------------------------------------- publish


def test_bus_publish_exits_0_when_every_event_is_confirmed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, order: Make
) -> None:
    topic(capsys)
    path = events_file(tmp_path / "events.jsonl", order(), order(), order())

    code, out, err = run(capsys, "bus", "publish", str(path))

    assert code == 0, err
    assert "3 of 3 events confirmed" in out


def test_bus_publish_exits_1_when_the_broker_is_unreachable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, order: Make
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = events_file(tmp_path / "events.jsonl", order())
    started = time.monotonic()

    code, out, err = run(
        capsys, "bus", "publish", str(path), "--bootstrap", f"127.0.0.1:{port}", "--timeout", "1"
    )

    assert code == 1
    assert "0 of 1 events confirmed" in out
    assert "not confirmed" in err and "consumers dedupe by event_id" in err
    assert time.monotonic() - started < 15


def test_bus_publish_reports_invalid_events_with_their_line_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, order: Make
) -> None:
    topic(capsys)
    bad = order()
    bad["properties"]["currency"] = "eur"
    path = events_file(tmp_path / "events.jsonl", order(), bad)

    code, out, err = run(capsys, "bus", "publish", str(path))

    assert code == 1
    assert "1 of 2 events confirmed" in out
    assert f"rejected: {path}:2" in err
    assert "properties.currency" in err


def test_bus_publish_of_a_file_that_is_not_json_is_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "events.json"
    path.write_text("{not json", encoding="utf-8")

    code, _, err = run(capsys, "bus", "publish", str(path))

    assert code == 2
    assert "invalid JSON" in err


# --------------------------------------------------------------------------- tail


def test_bus_tail_prints_each_record_as_a_json_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, order: Make
) -> None:
    name = topic(capsys)
    events = [order(user_id="u-1"), order(user_id="u-2")]
    assert run(capsys, "bus", "publish", str(events_file(tmp_path / "e.jsonl", *events)))[0] == 0

    code, out, _ = run(
        capsys, "bus", "tail", name, "--from-beginning", "--max", "2", "--idle-timeout", "20"
    )

    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted((line["key"], line["value"]["event_id"]) for line in lines) == sorted(
        (e["user_id"], e["event_id"]) for e in events
    )
    first = lines[0]
    assert first["topic"] == name
    assert {"partition", "offset", "timestamp"} <= set(first)
    assert first["headers"]["ce_id"] == first["value"]["event_id"]
    assert first["schema"]["subject"] == "order_completed"
    assert first["value"]["occurred_at"] == "2026-11-20T14:03:11.250Z"
    assert first["value"]["properties"]["total"] == "134.8000"  # the schema's scale


def test_bus_tail_of_a_topic_that_does_not_exist_is_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "bus", "tail", f"nope-{uuid.uuid4().hex}", "--max", "1")

    assert code == 2
    assert "does not exist" in err


# --------------------------------------------------------------------------- topics


def test_bus_topics_exits_1_while_planned_topics_are_missing(
    capsys: pytest.CaptureFixture[str], _settings: str
) -> None:
    code, out, err = run(capsys, "bus", "topics")

    assert code == 1
    assert f"{_settings}.order_completed.v1" in out
    assert "missing" in out
    assert "--apply" in err


def test_bus_topics_apply_creates_the_missing_topics_then_all_match(
    capsys: pytest.CaptureFixture[str], schemas_dir: Path
) -> None:
    from martech_bus.schema.registry import SchemaRegistry

    count = len(SchemaRegistry.load(schemas_dir).subjects())

    code, out, _ = run(capsys, "bus", "topics", "--apply")
    again, out_again, err_again = run(capsys, "bus", "topics")

    assert code == 0
    assert f"created {count} topics" in out
    assert again == 0
    assert "differ from the plan" not in out_again + err_again
