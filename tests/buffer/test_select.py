"""``buffer_store()`` picks the backend from one setting; importing the package stays cheap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from martech_bus.buffer import (
    BufferStore,
    MemoryBufferStore,
    SqliteBufferStore,
    SqsBufferStore,
    buffer_store,
)
from martech_bus.errors import ConfigError
from martech_bus.testing.aws import AwsEndpoint
from tests.test_import_cost import HEAVY, modules_loaded_by


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MARTECH_BUS_BUFFER", raising=False)


def test_the_default_is_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    with buffer_store() as store:
        assert isinstance(store, SqliteBufferStore)
        assert store.path == tmp_path / "buffer.sqlite3"


def test_the_environment_names_the_backend_and_an_explicit_spec_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MARTECH_BUS_BUFFER", f"sqlite:{tmp_path / 'gateway.db'}")
    with buffer_store() as store:
        assert isinstance(store, SqliteBufferStore)
        assert store.path == tmp_path / "gateway.db"
    assert isinstance(buffer_store("memory"), MemoryBufferStore)


def test_options_reach_the_store() -> None:
    store = buffer_store("memory", max_attempts=3, visibility_timeout=120)
    assert (store.max_attempts, store.visibility_timeout) == (3, 120)


def test_sqs_uses_the_queue_url_and_the_given_client(aws: AwsEndpoint, sqs_client: Any) -> None:
    url = sqs_client.create_queue(QueueName="gateway-buffer")["QueueUrl"]
    store: BufferStore = buffer_store(f"sqs:{url}", client=sqs_client)
    assert isinstance(store, SqsBufferStore) and store.queue_url == url
    assert store.depth() == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "redis:localhost",
            r"MARTECH_BUS_BUFFER='redis:localhost': unknown backend 'redis' \(known: memory, sqlite, sqs\)",
        ),
        ("sqs", "the sqs backend needs a location"),
    ],
)
def test_a_bad_setting_says_what_is_known(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        buffer_store(spec)


def test_the_buffer_package_and_the_memory_store_load_no_heavy_dependency() -> None:
    statement = (
        "from martech_bus.buffer import buffer_store, MemoryBufferStore; buffer_store('memory')"
    )
    assert modules_loaded_by(statement).isdisjoint(HEAVY)
    assert "boto3" not in modules_loaded_by("import martech_bus.buffer.sqs")
