"""The JSON-lines audit log, and choosing a flag store from one setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from martech_bus.errors import ConfigError
from martech_bus.routing.audit import AuditEntry, JsonlAuditLog, MemoryAuditLog
from martech_bus.routing.flags import Setting
from martech_bus.routing.modes import RouteMode
from martech_bus.routing.store import flag_store
from martech_bus.routing.store_env import EnvFlagStore
from martech_bus.routing.store_memory import MemoryFlagStore
from martech_bus.routing.store_ssm import SsmFlagStore
from martech_bus.routing.store_yaml import YamlFlagStore
from martech_bus.testing.aws import AwsEndpoint
from martech_bus.testing.clock import FakeTime

ENTRY = AuditEntry(
    id="abc123",
    at=datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC),
    integration="braze",
    who="ana",
    action="set",
    before=Setting(RouteMode.DIRECT),
    after=Setting(RouteMode.DUAL, RouteMode.BUS, 25),
    reason="start the rollout",
    version=2,
)


def test_an_entry_is_one_json_line(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit.jsonl")
    log.record(ENTRY)
    (line,) = (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {
        "id": "abc123",
        "at": "2026-11-20T14:03:11Z",
        "integration": "braze",
        "who": "ana",
        "action": "set",
        "from": "direct",
        "to": "dual:bus:25",
        "reason": "start the rollout",
        "version": 2,
    }


def test_entries_read_back_per_integration(tmp_path: Path) -> None:
    log = JsonlAuditLog(tmp_path / "audit.jsonl")
    other = AuditEntry(**{**_fields(ENTRY), "id": "def456", "integration": "ga4"})
    log.record(ENTRY)
    log.record(other)
    assert log.entries("braze") == [ENTRY]
    assert log.entries() == [ENTRY, other]


def test_a_corrupt_line_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps(ENTRY.to_dict()) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"audit.jsonl:2: not JSON"):
        JsonlAuditLog(path).entries()


def test_the_default_audit_log_lives_in_the_data_dir(tmp_path: Path, fake_time: FakeTime) -> None:
    store = YamlFlagStore(tmp_path / "flags.yaml", missing_ok=True, ttl=0, clock=fake_time)
    store.set("braze", Setting(RouteMode.BUS), reason="go")
    log = tmp_path / "data" / "flag-audit.jsonl"
    assert json.loads(log.read_text(encoding="utf-8"))["to"] == "bus"


def test_the_memory_store_keeps_its_audit_in_memory() -> None:
    assert isinstance(MemoryFlagStore().audit, MemoryAuditLog)


def test_the_default_store_is_the_yaml_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = flag_store()
    assert isinstance(store, YamlFlagStore)
    assert store.path == Path("flags.yaml")
    assert store.get("braze") is None  # no file yet: everything routes direct


def test_a_yaml_path_can_be_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_FLAGS", f"yaml:{tmp_path / 'prod.yaml'}")
    store = flag_store()
    assert isinstance(store, YamlFlagStore)
    assert store.path == tmp_path / "prod.yaml"


def test_env_and_memory_stores_are_selected_by_name() -> None:
    assert isinstance(flag_store("env", environ={}), EnvFlagStore)
    assert isinstance(flag_store("memory"), MemoryFlagStore)


def test_the_ssm_store_takes_its_prefix_and_an_injected_client(aws: AwsEndpoint) -> None:
    store = flag_store("ssm:/martech-bus/flags/", client=aws.client("ssm"))
    assert isinstance(store, SsmFlagStore)
    assert store.parameter_for("web:braze") == "/martech-bus/flags/web/braze"


def test_the_ssm_store_needs_a_prefix() -> None:
    with pytest.raises(ConfigError, match="needs a parameter prefix"):
        flag_store("ssm")


def test_an_unknown_store_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown flag store 'redis' \(known: env, memory"):
        flag_store("redis")


def test_the_cache_ttl_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARTECH_BUS_FLAGS_TTL", "5")
    assert flag_store("memory").ttl == 5
    monkeypatch.setenv("MARTECH_BUS_FLAGS_TTL", "soon")
    with pytest.raises(ConfigError, match="MARTECH_BUS_FLAGS_TTL"):
        flag_store("memory")


def _fields(entry: AuditEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__}
