"""Backends are chosen by one setting, with embedded defaults under the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from martech_bus.backends import dead_letter_store, idempotency_store
from martech_bus.errors import ConfigError
from martech_bus.idempotency.memory import MemoryIdempotencyStore
from martech_bus.idempotency.sqlite import SqliteIdempotencyStore
from martech_bus.sinks.dlq_jsonl import JsonlDeadLetterStore
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore
from martech_bus.sinks.dlq_sqlite import SqliteDeadLetterStore
from martech_bus.sinks.dlq_sqs import SqsDeadLetterStore
from martech_bus.testing.aws import AwsEndpoint


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MARTECH_BUS_DLQ", raising=False)
    monkeypatch.delenv("MARTECH_BUS_IDEMPOTENCY", raising=False)


def test_the_default_dead_letter_store_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    store = dead_letter_store()
    assert isinstance(store, SqliteDeadLetterStore)
    assert Path(store.path).parent == tmp_path


def test_the_dead_letter_store_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MARTECH_BUS_DLQ", f"jsonl:{tmp_path / 'dead.jsonl'}")
    store = dead_letter_store()
    assert isinstance(store, JsonlDeadLetterStore)
    assert store.path == tmp_path / "dead.jsonl"


def test_an_explicit_choice_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_DLQ", "jsonl")
    assert isinstance(dead_letter_store("memory"), MemoryDeadLetterStore)


def test_an_sqs_dead_letter_store_uses_the_given_queue(aws: AwsEndpoint) -> None:
    client = aws.client("sqs")
    url = client.create_queue(QueueName="dead-letters")["QueueUrl"]
    store = dead_letter_store(f"sqs:{url}", client=client)
    assert isinstance(store, SqsDeadLetterStore)
    assert store.count() == 0


def test_an_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown backend 'redis' \(known: jsonl, memory, sqlite, sqs\)"
    ):
        dead_letter_store("redis:localhost")


def test_a_backend_that_needs_a_location_says_so() -> None:
    with pytest.raises(ConfigError, match="dynamodb:NAME"):
        idempotency_store("dynamodb")


def test_the_default_idempotency_store_is_sqlite() -> None:
    assert isinstance(idempotency_store(), SqliteIdempotencyStore)


def test_a_memory_idempotency_store_can_be_chosen() -> None:
    assert isinstance(idempotency_store("memory"), MemoryIdempotencyStore)
