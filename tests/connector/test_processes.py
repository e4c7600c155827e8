"""The scaling story: connector processes in one consumer group share the partitions.

Real processes (``python -m martech_bus.connector run``), the session broker and
a threaded HTTP vendor stub on 127.0.0.1. Each process reports its partitions and
counts in a stats file; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.connector.conftest import EVENT_TYPES, World
from tests.connector.helpers import ROOT, Bus, Vendor, order, per_partition, wait_until


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    stats_file: Path
    log_file: Path
    log: IO[bytes]

    def stats(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.stats_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def output(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")[-4000:]


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:  # a failed test must not leave connectors running
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(10)
        process.log.close()


def connector_process(world: World, bus: Bus, name: str, group: str, *extra: str) -> Process:
    stats_file, log_file = world.tmp / f"{name}.json", world.tmp / f"{name}.log"
    log = log_file.open("wb")
    command = [
        sys.executable,
        "-m",
        "martech_bus.connector",
        "run",
        "--adapter",
        "meta_capi",
        "--bootstrap",
        bus.bootstrap,
        "--group",
        group,
        "--topic-prefix",
        bus.prefix,
        "--stats-file",
        str(stats_file),
        "-X",
        "session.timeout.ms=6000",
        *extra,
    ]
    # The environment carries the world's settings (stores, adapters, secrets): monkeypatched.
    popen = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return Process(popen, stats_file, log_file, log)


def test_two_processes_in_one_group_share_the_partitions_and_deliver_each_event_once(
    world: World, bus: Bus, vendor: Vendor, processes: list[Process]
) -> None:
    group = bus.prefix + "shared"
    processes += [connector_process(world, bus, name, group) for name in ("a", "b")]
    everything = {f"{bus.topic(t)}:{p}" for t in EVENT_TYPES for p in range(3)}

    def split() -> bool:
        for process in processes:
            assert process.popen.poll() is None, process.output()
        a, b = (set(process.stats().get("assigned", ())) for process in processes)
        return bool(a and b and not a & b and a | b == everything)

    wait_until(split, 45, "both processes to hold a share of the partitions")
    events = [order(n) for n in range(60)]
    placed = bus.publish(events)
    wait_until(lambda: vendor.distinct() == 60, 30, "every event at the vendor")
    for process in processes:
        process.popen.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.popen.wait(30) == 0, process.output()

    final = [process.stats() for process in processes]
    assert vendor.counts() == Counter(str(event["event_id"]) for event in events)
    assert all(stats["delivered"] > 0 for stats in final), final  # both did a share of the work
    assert sum(stats["delivered"] for stats in final) == 60
    assert all(stats["assigned"] == [] for stats in final)  # they left the group on SIGTERM
    topic = bus.topic("order_completed")
    assert bus.committed(group, topic) == per_partition(placed, topic)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--adapter", "meta_capi", "-X", "session.timeout.ms"], "expected KEY=VALUE"),
        (
            ["--adapter", "no_such_vendor", "--bootstrap", "127.0.0.1:9"],
            "no adapter 'no_such_vendor'",
        ),
    ],
)
def test_bad_input_exits_2_with_the_reason(
    offline: World, arguments: list[str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "martech_bus.connector", "run", *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
