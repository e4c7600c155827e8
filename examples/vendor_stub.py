"""A local vendor API for the demo and the tutorial: it records what it receives and fails on demand.

    python examples/vendor_stub.py --port 8099 --adapters-out "$DEMO/adapters"

Every POST outside ``/_stub/`` is a vendor request. It is answered
``200 {"events_received": n}`` and every ``event_id`` in its JSON body is counted,
unless the stub is told to fail, in which case it is answered 503 and nothing
is counted. ``--adapters-out DIR`` also writes copies of ``adapters/`` whose
endpoints point at this stub (``martech_bus.testing.vendor.stub_adapters``).

Control it with curl:

    GET  /_stub/stats            {"requests", "failed", "events", "delivered": {event_id: count}}
    POST /_stub/outage           answer 503 to every vendor request until /_stub/recover
    POST /_stub/fail?next=3      answer 503 to the next 3 vendor requests only
    POST /_stub/recover          answer 200 again

(each control route answers {"outage": ..., "fail_next": ...}).

Only the standard library and martech-bus; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent


class VendorState:
    """What the vendor received, and whether it is failing; shared by the request threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: Counter[str] = Counter()
        self.requests = 0  # answered 200
        self.failed = 0  # answered 503
        self.outage = False
        self.fail_next = 0

    def receive(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Status and JSON answer for one vendor request."""
        with self.lock:
            if self.outage or self.fail_next > 0:
                self.fail_next = max(0, self.fail_next - 1)
                self.failed += 1
                return 503, {"error": {"message": "vendor stub: service unavailable"}}
            ids = list(event_ids(_json_or_none(body)))
            self.delivered.update(ids)
            self.requests += 1
            return 200, {"events_received": len(ids), "fbtrace_id": f"stub-{self.requests}"}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "failed": self.failed,
                "events": sum(self.delivered.values()),
                "outage": self.outage,
                "fail_next": self.fail_next,
                "delivered": dict(self.delivered),
            }


def event_ids(value: Any) -> list[str]:
    """Every string under an ``event_id`` key, at any depth (vendors nest events differently)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key == "event_id" and isinstance(child, str):
                    found.append(child)
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    """Vendor requests and the ``/_stub/`` control routes."""

    server: StubServer
    protocol_version = "HTTP/1.1"  # keep-alive, like a real vendor API behind a pooled client

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_stub/stats":
            self._answer(200, self.server.state.stats())
        else:
            self._answer(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        url = urlsplit(self.path)
        state = self.server.state
        if url.path.startswith("/_stub/"):
            self._control(url.path, parse_qs(url.query))
            return
        status, answer = state.receive(body)
        print(
            f"POST {url.path} -> {status} ({answer.get('events_received', 0)} events)", flush=True
        )
        self._answer(status, answer)

    def _control(self, path: str, query: dict[str, list[str]]) -> None:
        state = self.server.state
        try:
            fail_next = int(query.get("next", ["1"])[0])
        except ValueError:
            self._answer(400, {"error": {"message": "next must be a whole number"}})
            return
        with state.lock:
            if path == "/_stub/outage":
                state.outage = True
            elif path == "/_stub/recover":
                state.outage, state.fail_next = False, 0
            elif path == "/_stub/fail":
                state.fail_next = fail_next
            else:
                path = ""
            now = {"outage": state.outage, "fail_next": state.fail_next}
        if not path:
            self._answer(404, {"error": {"message": "control routes: outage, fail, recover"}})
            return
        print(f"control: {path.removeprefix('/_stub/')}", flush=True)
        self._answer(200, now)

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: do_POST prints one line per vendor request instead."""


class StubServer(ThreadingHTTPServer):
    daemon_threads = True
    state: VendorState


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--adapters-out",
        type=Path,
        help="write copies of ./adapters pointed at this stub into this (new or empty) folder",
    )
    args = parser.parse_args(argv)
    try:
        server = StubServer(("127.0.0.1", args.port), Handler)
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    server.state = VendorState()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    if args.adapters_out is not None:
        out: Path = args.adapters_out
        if out.exists() and any(out.iterdir()):
            print(f"error: --adapters-out {out} is not empty", file=sys.stderr)
            return 2
        from martech_bus.testing.vendor import stub_adapters

        stub_adapters(ROOT / "adapters", out, base_url)
        print(f"adapters pointed at the stub: {out}", flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return: call it from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # The demo waits for this exact line to learn the port.
    print(f"vendor stub listening on {base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
