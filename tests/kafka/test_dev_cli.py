"""`martech-bus dev broker`: a foreground broker for local work."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import IO

import pytest
from typer.testing import CliRunner

from martech_bus.cli import dev
from martech_bus.errors import ConfigError
from tests.kafka.clients import produce_one, producer

pytestmark = pytest.mark.integration

BOOTSTRAP_LINE = re.compile(r"export MARTECH_BUS_KAFKA_BOOTSTRAP=(127\.0\.0\.1:\d+)")


def _dev_command() -> list[str]:
    """`python -m martech_bus dev` once main.py registers it; the dev app on its own until then."""
    from martech_bus.cli.main import app

    if any(group.name == "dev" for group in app.registered_groups):
        return [sys.executable, "-m", "martech_bus", "dev"]
    return [sys.executable, "-c", "from martech_bus.cli.dev import app; app()"]


def _lines(stream: IO[str]) -> queue.Queue[str]:
    """The stream's lines as they arrive, read on a thread so the test can wait with a deadline."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _address(bootstrap: str) -> tuple[str, int]:
    host, port = bootstrap.rsplit(":", 1)
    return host, int(port)


def _wait_for_bootstrap(lines: queue.Queue[str], timeout: float) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        seen.append(line)
        if found := BOOTSTRAP_LINE.search(line):
            return found.group(1)
    raise AssertionError(f"no bootstrap line within {timeout}s; output so far: {''.join(seen)}")


def test_dev_broker_prints_the_bootstrap_accepts_a_record_and_exits_0_on_SIGTERM(
    topic: str,
) -> None:
    process = subprocess.Popen(
        [*_dev_command(), "broker", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        bootstrap = _wait_for_bootstrap(_lines(process.stdout), timeout=60)

        assert produce_one(producer(bootstrap), topic, b"hello") is None

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # The broker went with the command: nothing listens on its port any more.
    with pytest.raises(OSError), socket.create_connection(_address(bootstrap), timeout=1):
        pass


def test_dev_broker_refuses_a_port_in_use_with_a_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = CliRunner().invoke(dev.app, ["broker", "--port", str(port)])

    # main.py turns a ConfigError into a message and exit code 2.
    assert isinstance(result.exception, ConfigError), result.output
    assert f"port {port} on 127.0.0.1 is in use" in str(result.exception)
