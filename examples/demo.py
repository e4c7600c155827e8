"""`make demo`: the whole martech-bus story, end to end, on the embedded defaults.

The meta_capi adapter starts as a sprint: its Lambda handler delivers straight to
a vendor stub on 127.0.0.1, the vendor goes down and the dead letters are replayed.
The buffered gateway takes canonical events and a signed Segment webhook. Then the
integration moves onto the Kafka bus by flipping its migration flag: dual, shadow
(with the diff report), bus, where the connector delivers and rides out a vendor
blip. The demo ends with a summary computed from what the vendor stub received,
and the debt report.

Each step prints the command it runs, as docs/tutorial.md shows it (tests/test_demo.py
checks that both list the same commands), and checks the exit code and the effect.
HTTP requests go through urllib; the curl line shown is that same request.

Everything lives in a temporary directory (removed at the end unless --keep; kept
when a step fails), never in ./.martech-bus. Ports are free ones on 127.0.0.1.
Every process started here is stopped at the end, after a failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEGMENT_FIXTURE = "sources/segment/fixtures/track_order_completed"
WAIT = 60.0  # seconds any one wait may take; a normal run needs a few

#: Settings every command runs with (``export`` lines in the tutorial); {demo} is the temp dir.
SETTINGS: dict[str, str] = {
    "MARTECH_BUS_DATA_DIR": "{demo}",
    "MARTECH_BUS_ADAPTERS_DIR": "{demo}/adapters",
    "MARTECH_BUS_FLAGS": "yaml:{demo}/flags.yaml",
    "MARTECH_BUS_FLAGS_TTL": "0",
    "MARTECH_BUS_KAFKA_BOOTSTRAP": "127.0.0.1:{kafka_port}",
    "META_PIXEL_ID": "1234567890",
    "META_ACCESS_TOKEN": "demo-access-token",
    "SEGMENT_WEBHOOK_SECRET": "demo-segment-secret",
}

#: Every command the demo runs, as a user types it; docs/tutorial.md shows the same ones.
#: {names} are filled in per run (free ports, the temp dir, a batch of events).
COMMANDS: dict[str, str] = {
    "broker": "martech-bus dev broker --port {kafka_port}",
    "topics": "martech-bus bus topics --apply",
    "stub": "python examples/vendor_stub.py --port {stub_port} --adapters-out {demo}/adapters",
    "contract": "martech-bus mapping test meta_capi",
    "orders": "python examples/make_orders.py {count} > {demo}/{batch}.json",
    "lambda": "python examples/lambda_invoke.py meta_capi {demo}/{batch}.json",
    "outage": "curl -sS -X POST http://127.0.0.1:{stub_port}/_stub/outage",
    "dlq_list": "martech-bus dlq list",
    "recover": "curl -sS -X POST http://127.0.0.1:{stub_port}/_stub/recover",
    "replay": "martech-bus dlq replay --vendor meta_capi",
    "gateway": "martech-bus gateway serve --port {gateway_port} --adapter meta_capi",
    "post_events": "curl -sS -X POST http://127.0.0.1:{gateway_port}/v1/events"
    " -H 'Content-Type: application/json' --data-binary @{demo}/{batch}.json",
    "post_segment": "curl -sS -X POST http://127.0.0.1:{gateway_port}/v1/sources/segment"
    " -H 'Content-Type: application/json' -H 'X-Signature: {signature}'"
    " --data-binary @sources/segment/fixtures/track_order_completed.input.json",
    "connector": "martech-bus connector run --adapter meta_capi -X session.timeout.ms=6000"
    " --stats-file {demo}/connector.json",
    "flag_list": "martech-bus flag list",
    "flag_dual": "martech-bus flag set meta_capi dual --reason 'check the bus gets every event'",
    "tail": "martech-bus bus tail martech.order_completed.v1 --from-beginning --max {count}",
    "flag_shadow": "martech-bus flag set meta_capi shadow --reason 'compare the connector payloads'",
    "shadow_report": "martech-bus shadow report meta_capi",
    "flag_bus": "martech-bus flag set meta_capi bus --reason 'migrated: the connector delivers'",
    "blip": "curl -sS -X POST 'http://127.0.0.1:{stub_port}/_stub/fail?next=3'",
    "flag_show": "martech-bus flag show meta_capi",
    "stats": "curl -sS http://127.0.0.1:{stub_port}/_stub/stats",
    "debt": "martech-bus debt",
}

_TTY = sys.stdout.isatty()


def bold(text: str) -> str:
    return f"\033[1m{text}\033[0m" if _TTY else text


class DemoError(Exception):
    """A step did not do what it should; the message says what and where to look."""


def free_port() -> int:
    """A port nobody listens on now (the gateway needs a number up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """One HTTP request; the status and body, also for 4xx and 5xx answers."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, OSError) as error:  # nobody listening (yet)
        return 0, str(error)


@dataclass
class Background:
    """A long-running command, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Demo:
    """The temp dir, the environment and the processes of one run."""

    workdir: Path
    values: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    background: list[Background] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # every event id sent, resends included
    step_number: int = 0

    def __post_init__(self) -> None:
        self.values["demo"] = str(self.workdir)
        (self.workdir / "logs").mkdir()
        # Nothing from the caller's MARTECH_BUS_* settings (an SQS DLQ, gateway tokens) leaks in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MARTECH_BUS_")}
        # Children write to a pipe: their tables get the terminal's width, or room for ids.
        self.env["COLUMNS"] = str(shutil.get_terminal_size().columns if _TTY else 160)
        for name, value in SETTINGS.items():
            if "{kafka_port}" not in value:
                self.env[name] = value.format(**self.values)

    # -- output -----------------------------------------------------------------------------

    def step(self, title: str) -> None:
        self.step_number += 1
        print(f"\n{bold(f'== {self.step_number}. {title}')}", flush=True)

    def ok(self, message: str) -> None:
        print(f"  ok: {message}", flush=True)

    def command(self, key: str, **values: Any) -> str:
        """The command line of ``key`` for this run, printed as it will run."""
        filled = {
            name: shlex.quote(str(value)) for name, value in {**self.values, **values}.items()
        }
        line = COMMANDS[key].format(**filled)
        print(f"$ {line}", flush=True)
        return line

    # -- running commands -------------------------------------------------------------------

    def argv(self, words: list[str]) -> list[str]:
        """``martech-bus`` and ``python`` of this interpreter (the venv's, under `make demo`)."""
        program = {"martech-bus": [sys.executable, "-m", "martech_bus"], "python": [sys.executable]}
        return [*program[words[0]], *words[1:]]

    def run(self, key: str, expect: int = 0, show: bool = True, **values: Any) -> str:
        """Run a command to its end; check its exit code; return its output."""
        line = self.command(key, **values)
        if line.startswith("curl "):
            return self.curl(line, show=show)
        words = shlex.split(line)
        target = None
        if ">" in words:  # the one shell feature COMMANDS use: stdout to a file
            words, target = words[: words.index(">")], words[-1]
        try:
            done = subprocess.run(
                self.argv(words),
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=WAIT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DemoError(f"`{line}` did not finish within {WAIT:g}s") from None
        if target is not None:
            Path(target).write_text(done.stdout, encoding="utf-8")
        elif show and done.stdout.strip():
            print(done.stdout.rstrip(), flush=True)
        if done.returncode != expect:
            raise DemoError(
                f"`{line}` exited {done.returncode}, expected {expect}\n{done.stdout}{done.stderr}"
            )
        return done.stdout

    def curl(self, line: str, show: bool = True) -> str:
        """The request a curl line of COMMANDS describes (-X, -H, --data-binary @file), by urllib."""
        words = shlex.split(line)[1:]
        method, url, headers, body = "GET", "", {}, None
        while words:
            word = words.pop(0)
            if word == "-X":
                method = words.pop(0)
            elif word == "-H":
                name, _, value = words.pop(0).partition(":")
                headers[name.strip()] = value.strip()
            elif word == "--data-binary":
                body = (ROOT / words.pop(0).removeprefix("@")).read_bytes()
            elif not word.startswith("-"):
                url = word
        status, text = http(method, url, body, headers)
        if show:
            print(text, flush=True)
        if not 200 <= status < 300:
            raise DemoError(f"`{line}` answered {status}: {text}")
        return text

    def start(self, key: str, name: str, ready: str | None = None, **values: Any) -> Background:
        """Start a long-running command; wait for the line ``ready`` in its output."""
        line = self.command(key, **values)
        log = self.workdir / "logs" / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.argv(shlex.split(line)),
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started = Background(name, process, log)
        self.background.append(started)
        if ready is not None:
            pattern = re.compile(ready)

            def matched() -> re.Match[str] | None:
                return pattern.search(log.read_text(encoding="utf-8", errors="replace"))

            found = self.wait(f"{name} to start", matched, name)
            self.values.update(found.groupdict())
        return started

    def stop_all(self) -> None:
        """Stop every process started here: clients before the broker, terminate then kill."""
        order = ["connector", "gateway", "stub", "broker"]
        for wave in (order[:2], order[2:]):
            running = [b for b in self.background if b.name in wave and b.process.poll() is None]
            for item in running:
                item.process.terminate()
            for item in running:
                try:
                    item.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    item.process.kill()
                    item.process.wait(timeout=5)
        if self.background:
            names = ", ".join(b.name for b in self.background)
            print(f"\nstopped every process the demo started ({names})", flush=True)

    # -- observing ----------------------------------------------------------------------------

    def wait(self, what: str, condition: Callable[[], Any], *logs: str) -> Any:
        """Poll ``condition`` until it returns something truthy; fail naming ``what`` and logs.

        A background process that exits meanwhile fails the wait at once, with its log.
        """
        deadline = time.monotonic() + WAIT
        while True:
            for item in self.background:
                if item.process.poll() is not None:
                    raise DemoError(
                        f"{item.name} exited ({item.process.returncode}) while waiting for "
                        f"{what}; its log {item.log}:\n{tail(item.log)}"
                    )
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                shown = "\n".join(f"  {log}:\n{tail(log)}" for log in self.logs(*logs))
                raise DemoError(f"timed out after {WAIT:g}s waiting for {what}\n{shown}")
            time.sleep(0.1)

    def logs(self, *names: str) -> list[Path]:
        return [self.workdir / "logs" / f"{name}.log" for name in names]

    def vendor(self) -> dict[str, Any]:
        """What the vendor stub received: {"requests", "failed", "delivered": {event_id: n}}."""
        status, text = http("GET", f"http://127.0.0.1:{self.values['stub_port']}/_stub/stats")
        if status != 200:
            raise DemoError(f"the vendor stub answered {status} to /_stub/stats")
        stats: dict[str, Any] = json.loads(text)
        return stats

    def connector_stats(self) -> dict[str, Any]:
        try:
            stats: dict[str, Any] = json.loads((self.workdir / "connector.json").read_text())
        except (OSError, ValueError):  # not written yet
            return {}
        return stats

    def gateway_depth(self) -> int | None:
        """The gateway's buffer depth from /healthz; None while it does not answer."""
        status, text = http("GET", f"http://127.0.0.1:{self.values['gateway_port']}/healthz")
        depth: int | None = json.loads(text).get("buffer_depth") if status == 200 else None
        return depth

    def at_vendor(self, ids: list[str], what: str, *logs: str) -> None:
        """Wait until the vendor stub has every one of ``ids``; then each exactly once."""
        self.wait(what, lambda: all(self.vendor()["delivered"].get(i) for i in ids), "stub", *logs)
        counts = self.vendor()["delivered"]
        twice = [i for i in ids if counts[i] != 1]
        if twice:
            raise DemoError(f"the vendor received these events more than once: {twice}")

    def orders(self, batch: str, count: int) -> list[str]:
        """Write ``count`` fresh events to {demo}/{batch}.json; their ids."""
        self.run("orders", count=count, batch=batch)
        events = json.loads((self.workdir / f"{batch}.json").read_text(encoding="utf-8"))
        return [event["event_id"] for event in events]

    def post(self, batch: str, ids: list[str]) -> None:
        answer = json.loads(self.run("post_events", batch=batch))
        if answer.get("event_ids") != ids:
            raise DemoError(f"the gateway acknowledged {answer}, expected {ids}")
        self.sent.extend(ids)


# -- the story ----------------------------------------------------------------------------------


def setup(demo: Demo) -> None:
    demo.step("Settings, the embedded Kafka broker and the bus topics")
    print(f"# everything lives in {demo.workdir}; every command runs with:")
    for name, value in SETTINGS.items():
        if "{kafka_port}" not in value:
            print(f"export {name}={value.format(**demo.values)}")
    print(f"$ cp flags.yaml {demo.workdir}/flags.yaml")
    shutil.copy(ROOT / "flags.yaml", demo.workdir / "flags.yaml")
    demo.start(
        "broker", "broker", ready=r"BOOTSTRAP=127\.0\.0\.1:(?P<kafka_port>\d+)", kafka_port=0
    )
    demo.env["MARTECH_BUS_KAFKA_BOOTSTRAP"] = SETTINGS["MARTECH_BUS_KAFKA_BOOTSTRAP"].format(
        **demo.values
    )
    print(f"export MARTECH_BUS_KAFKA_BOOTSTRAP={demo.env['MARTECH_BUS_KAFKA_BOOTSTRAP']}")
    demo.run("topics", show=False)
    demo.ok("the broker runs in memory; one topic per event and major version is created")

    demo.step("A vendor stub on 127.0.0.1, and the adapters pointed at it")
    demo.start(
        "stub", "stub", ready=r"listening on http://127\.0\.0\.1:(?P<stub_port>\d+)", stub_port=0
    )
    demo.ok(f"adapters copied to {demo.workdir}/adapters with their endpoints on the stub")


def sprint(demo: Demo) -> None:
    demo.step("Sprint: the adapter's contract tests pass, and its Lambda handler delivers")
    demo.run("contract")
    ids = demo.orders("sprint", 3)
    answer = json.loads(demo.run("lambda", batch="sprint", show=False))
    statuses = [result["status"] for result in answer["body"]["results"]]
    print(f"{answer['statusCode']} {json.dumps(answer['body']['results'][0])} ...")
    if answer["statusCode"] != 202 or set(statuses) != {"delivered"}:
        raise DemoError(f"the Lambda handler answered {answer}")
    demo.sent.extend(ids)
    demo.at_vendor(ids, "the sprint events at the vendor")
    demo.ok("202 from the handler; the vendor stub got each of the 3 events once")

    demo.step("The vendor goes down: the adapter retries, then keeps dead letters")
    demo.run("outage")
    ids = demo.orders("outage", 2)
    before = demo.vendor()["failed"]
    answer = json.loads(demo.run("lambda", batch="outage", show=False))
    results = answer["body"]["results"]
    print(f"{answer['statusCode']} {json.dumps(results[0])} ...")
    if {result["status"] for result in results} != {"dead_lettered"}:
        raise DemoError(f"expected both events dead-lettered, got {answer}")
    demo.sent.extend(ids)
    retries = demo.vendor()["failed"] - before
    if retries < 2:
        raise DemoError(f"expected the adapter to retry; the vendor saw {retries} attempt(s)")
    demo.run("dlq_list")
    demo.ok(
        f"the vendor refused {retries} attempts (503); both events wait in the dead-letter store"
    )

    demo.step("The vendor is back: replay the dead letters")
    demo.run("recover")
    demo.run("replay")
    demo.at_vendor(ids, "the replayed events at the vendor")
    demo.run("dlq_list")
    demo.ok("both dead letters delivered once; nothing waits any more")


def hybrid(demo: Demo) -> None:
    demo.step("Hybrid: the buffered gateway takes canonical events and a signed Segment webhook")
    demo.values["gateway_port"] = free_port()
    demo.start("gateway", "gateway")
    demo.wait(
        "the gateway to answer /healthz",
        lambda: demo.gateway_depth() is not None,
        "gateway",
    )
    ids = demo.orders("gateway", 3)
    demo.post("gateway", ids)
    raw = (ROOT / f"{SEGMENT_FIXTURE}.input.json").read_bytes()
    secret = demo.env["SEGMENT_WEBHOOK_SECRET"].encode()
    signature = hmac.new(secret, raw, hashlib.sha256).hexdigest()
    print(
        f'# the same as: SIG=$(openssl dgst -sha256 -hmac "$SEGMENT_WEBHOOK_SECRET" -hex'
        f" < {SEGMENT_FIXTURE}.input.json | awk '{{print $NF}}')"
    )
    [segment] = json.loads((ROOT / f"{SEGMENT_FIXTURE}.expected.json").read_text())
    for _ in range(2):  # Segment retries a webhook: the same message is the same event
        demo.run("post_segment", signature=signature)
        demo.sent.append(segment["event_id"])
    demo.wait("the gateway's buffer to drain", lambda: demo.gateway_depth() == 0, "gateway")
    demo.at_vendor([*ids, segment["event_id"]], "the gateway's events at the vendor", "gateway")
    demo.ok("4 events delivered directly, once each; Segment's retry was recognised and dropped")


def _flip_and_post(demo: Demo, mode: str, counter: str, waiting: str) -> list[str]:
    """Flip to ``mode`` (the gateway still delivers), post three orders, and wait until the
    vendor has them and the connector's ``counter`` has counted them; their event ids."""
    demo.run(f"flag_{mode}")
    ids = demo.orders(mode, 3)
    demo.post(mode, ids)
    demo.at_vendor(ids, f"the {mode} events at the vendor", "gateway")
    demo.wait(waiting, lambda: demo.connector_stats().get(counter, 0) >= len(ids), "connector")
    return ids


def marathon(demo: Demo) -> None:
    demo.step("Start the bus connector (it idles: the integration is still direct)")
    demo.start("connector", "connector")
    demo.wait(
        "the connector to join its consumer group",
        lambda: demo.connector_stats().get("assignments", 0) >= 1,
        "connector",
    )
    demo.run("flag_list")
    demo.ok("the connector owns the partitions of the topics meta_capi maps")

    demo.step("Flip to dual: the gateway delivers, and publishes every event to the bus")
    ids = _flip_and_post(demo, "dual", "skipped", "the connector to skip the dual records")
    records = [
        json.loads(line) for line in demo.run("tail", count=len(ids), show=False).splitlines()
    ]
    on_bus = sorted(record["headers"]["ce_id"] for record in records)
    for record in records:
        print(
            f"{record['topic']}[{record['partition']}]@{record['offset']} "
            f"ce_id={record['headers']['ce_id']} martech_routes={record['headers'].get('martech_routes')}"
        )
    if on_bus != sorted(ids):
        raise DemoError(f"the bus holds {on_bus}, expected {sorted(ids)}")
    demo.ok("each event delivered once directly, and on the bus stamped meta_capi=dual")

    demo.step("Flip to shadow: the connector renders the payloads and compares, without sending")
    ids = _flip_and_post(demo, "shadow", "shadowed", "the connector to shadow the records")
    report = demo.run("shadow_report")
    if "100.00% matched" not in report:
        raise DemoError("the shadow report found differences")
    demo.ok("the connector would send exactly what the direct path sent")

    demo.step("Flip to bus: the gateway only publishes, the connector delivers")
    demo.run("flag_bus")
    ids = demo.orders("bus", 3)
    demo.post("bus", ids)
    demo.at_vendor(ids, "the connector's deliveries at the vendor", "gateway", "connector")
    print("# a client that timed out sends the same events again:")
    demo.post("bus", ids)
    demo.wait("the gateway's buffer to drain", lambda: demo.gateway_depth() == 0, "gateway")
    demo.at_vendor(ids, "the connector's deliveries at the vendor", "gateway", "connector")
    stats = demo.connector_stats()
    demo.ok(
        "the connector delivered each event once; the gateway knew the resent copies were "
        "already on the bus "
        f"(connector so far: delivered {stats['delivered']}, skipped {stats['skipped']} "
        f"in dual, shadowed {stats['shadowed']})"
    )

    demo.step("A vendor blip on the bus path: the connector's delivery retries and gets through")
    before = demo.vendor()["failed"]
    demo.run("blip")
    ids = demo.orders("blip", 2)
    demo.post("blip", ids)
    demo.at_vendor(ids, "the events after the blip at the vendor", "gateway", "connector")
    refused = demo.vendor()["failed"] - before
    if refused != 3:
        raise DemoError(f"expected 3 refused attempts before the deliveries, got {refused}")
    demo.ok(f"the vendor refused {refused} attempts (503); the retries delivered both events once")

    demo.step("The flag's audit trail: who flipped what, when and why")
    demo.run("flag_show")


def summary(demo: Demo) -> bool:
    demo.step("Summary: what the vendor stub received")
    vendor = json.loads(demo.run("stats", show=False))
    counts: dict[str, int] = vendor["delivered"]
    events = sorted(set(demo.sent))
    once = sum(counts.get(e) == 1 for e in events)
    lost = sum(counts.get(e, 0) == 0 for e in events)
    extra = sum(max(counts.get(e, 0) - 1, 0) for e in events)
    unexpected = len(set(counts) - set(events))
    resent = len(demo.sent) - len(events)
    rows = [
        ("events in (distinct event ids)", len(events)),
        ("sent, resends included", len(demo.sent)),
        ("vendor attempts refused (503), then retried", vendor["failed"]),
        ("delivered exactly once", once),
        ("duplicates removed", resent - extra),
        ("delivered more than once", extra),
        ("delivered but never sent", unexpected),
        ("lost", lost),
    ]
    print(f"  {'':-<52}")
    for label, value in rows:
        print(f"  {label:<46}{value:>6}")
    print(f"  {'':-<52}")
    print(
        f"events in {len(events)}, delivered exactly once {once}, "
        f"duplicates removed {resent - extra}, lost {lost}"
    )
    return once == len(events) and lost == 0 and extra == 0 and unexpected == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds through finally: the processes are stopped

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C must interrupt even when the caller ignores SIGINT (e.g. `make demo &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    demo = Demo(Path(tempfile.mkdtemp(prefix="martech-bus-demo-")))
    keep = args.keep
    try:
        setup(demo)
        sprint(demo)
        hybrid(demo)
        marathon(demo)
        good = summary(demo)
        keep = keep or not good
        demo.step("The debt report")
        demo.run("debt")
    except DemoError as error:
        keep = True
        print(f"\ndemo FAILED: {error}", flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
        return 130
    finally:
        demo.stop_all()
        if keep:
            print(f"kept {demo.workdir} (logs in {demo.workdir}/logs)")
        else:
            shutil.rmtree(demo.workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    if not good:
        print(f"demo FAILED: the vendor did not get every event exactly once ({elapsed:.0f}s)")
        return 1
    print(f"demo ok: {demo.step_number} steps in {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
