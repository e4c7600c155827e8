"""Fixtures for the flag tests: a fake clock, and one flag store per writable backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from martech_bus.cli import main as cli_main
from martech_bus.cli.flag import app as flag_app
from martech_bus.routing.audit import MemoryAuditLog
from martech_bus.routing.store import FlagStore
from martech_bus.routing.store_memory import MemoryFlagStore
from martech_bus.routing.store_ssm import SsmFlagStore
from martech_bus.routing.store_yaml import YamlFlagStore
from martech_bus.testing.aws import AwsEndpoint
from martech_bus.testing.clock import FakeTime

PREFIX = "/martech-bus/flags"

MakeStore = Callable[..., FlagStore]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's flag settings or writes to their data dir."""
    for name in ("MARTECH_BUS_FLAGS", "MARTECH_BUS_FLAGS_TTL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MARTECH_BUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("USER", "tester")


@pytest.fixture(params=["memory", "yaml", "ssm"])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, fake_time: FakeTime
) -> Iterator[MakeStore]:
    """Stores of one backend sharing one backing copy (two stores = two processes)."""
    kind = str(request.param)
    audit = MemoryAuditLog()
    shared: dict[str, Any] = {}
    if kind == "ssm":
        endpoint: AwsEndpoint = request.getfixturevalue("aws")
        shared["client"] = endpoint.client("ssm")

    def make(**options: Any) -> FlagStore:
        options = {"clock": fake_time, "ttl": 0, "audit": audit, **options}
        if kind == "memory":
            store = shared.get("memory")
            if store is None:
                store = shared["memory"] = MemoryFlagStore(**options)
                return store
            twin = MemoryFlagStore(**options)
            twin._flags = store._flags  # the same backing dict: another "process"
            twin._lock = store._lock
            return twin
        if kind == "yaml":
            return YamlFlagStore(tmp_path / "flags.yaml", missing_ok=True, **options)
        return SsmFlagStore(PREFIX, client=shared["client"], **options)

    yield make


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real entry point, with `flag` registered if main.py does not register it (yet)."""
    groups = cli_main.app.registered_groups
    if not any(group.name == "flag" for group in groups):
        info = typer.models.TyperInfo(flag_app, name="flag")
        monkeypatch.setattr(cli_main.app, "registered_groups", [*groups, info])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``martech-bus ARGV``: (exit code, stdout, stderr)."""
    code = cli_main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
