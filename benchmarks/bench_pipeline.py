"""Sprint-path throughput: canonical events through the meta_capi Lambda handler to a local vendor stub.

The stub is a stdlib HTTP server on 127.0.0.1 answering 200. The baseline
posts the same request bodies, rendered beforehand, with a bare httpx client:
the cost of HTTP alone. martech-bus does everything a deployed handler does per
invocation of 100 events: parse the API Gateway event, validate, check consent,
map, claim idempotency keys (SQLite), build the batch body, send with retry
machinery, settle the claims, log and count.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.harness import AcceptingVendor, Rate, rate_rows, table

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
BATCHES = 30


def _events(count: int, offset: int) -> list[dict[str, Any]]:
    template = json.loads((ROOT / "examples" / "events" / "order_completed.json").read_text())
    events = []
    for n in range(offset, offset + count):
        event = copy.deepcopy(template)
        event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
        event["user_id"] = f"user-{n}"
        events.append(event)
    return events


def _api_gateway(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "2.0",
        "requestContext": {"http": {"method": "POST", "path": "/events"}, "requestId": "bench"},
        "headers": {"content-type": "application/json"},
        "body": json.dumps(events),
        "isBase64Encoded": False,
    }


def run() -> str:
    import logging

    import httpx

    from martech_bus.aws import adapter_handler
    from martech_bus.integration import Runtime
    from martech_bus.schema.validate import validate_event
    from martech_bus.testing.vendor import stub_adapters

    logging.getLogger("martech_bus").setLevel(logging.WARNING)  # measure the work, not the terminal
    server = ThreadingHTTPServer(("127.0.0.1", 0), AcceptingVendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        adapters = stub_adapters(
            ROOT / "adapters", Path(tmp) / "adapters", base, names=["meta_capi"]
        )
        os.environ.update(
            {
                "MARTECH_BUS_SCHEMAS_DIR": str(ROOT / "schemas"),
                "MARTECH_BUS_ADAPTERS_DIR": str(adapters),
                "META_PIXEL_ID": "42",
                "META_ACCESS_TOKEN": "bench-token",
            }
        )
        runtime = Runtime(
            dlq=f"sqlite:{tmp}/dlq.sqlite3", idempotency_setting=f"sqlite:{tmp}/idem.sqlite3"
        )
        handler = adapter_handler("meta_capi", runtime=runtime)
        adapter = runtime.adapter("meta_capi")
        batches = [_events(BATCH, i * BATCH) for i in range(BATCHES)]
        bodies = [
            json.dumps(
                adapter.build_body(
                    [
                        adapter.mapping_for("order_completed")(
                            validate_event(runtime.registry, e)[1]
                        )
                        for e in batch
                    ]
                )
            ).encode()
            for batch in batches
        ]
        handler(_api_gateway(_events(BATCH, 10_000_000)), None)  # warm: load, compile, connect

        with httpx.Client() as client:
            started = time.perf_counter()
            for body in bodies:
                client.post(
                    f"{base}/v19.0/42/events",
                    content=body,
                    params={"access_token": "x"},
                    headers={"Content-Type": "application/json"},
                )
            raw = Rate(
                "raw httpx POST of pre-rendered bodies",
                BATCH * BATCHES / (time.perf_counter() - started),
            )

        started = time.perf_counter()
        for batch in batches:
            response = handler(_api_gateway(batch), None)
            assert response is not None and response["statusCode"] == 202, response
        ours = Rate(
            "martech-bus Lambda handler (validate, map, dedupe, deliver)",
            BATCH * BATCHES / (time.perf_counter() - started),
        )
    server.shutdown()
    return (
        table(rate_rows([raw, ours], raw))
        + f"\n\nEvents per second (batches of {BATCH} events, one request per batch).\n"
    )
