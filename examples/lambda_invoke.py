"""Invoke an adapter's Lambda handler on this machine, as API Gateway would (like `sam local invoke`).

    python examples/lambda_invoke.py meta_capi "$DEMO/sprint.json"

Loads ``<adapters>/<adapter>/handler.py`` (``$MARTECH_BUS_ADAPTERS_DIR``, else
./adapters), wraps the file's events in an HTTP API (v2) request ``POST
/v1/events``, calls ``handler(event, context)`` once with a 30-second deadline and
prints the response as JSON. Exit 0 when the answer is 202, else 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 30.0  # the function timeout of docs/deploy-lambda.md's SAM template


class LocalContext:
    """The parts of the Lambda context object the handler reads."""

    def __init__(self, function_name: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.function_name = function_name
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def http_api_event(body: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2.0) request POSTing ``body`` to /v1/events."""
    return {
        "version": "2.0",
        "routeKey": "POST /v1/events",
        "rawPath": "/v1/events",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": "/v1/events", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def load_handler(adapter: str) -> Any:
    """``handler`` from the adapter folder's handler.py, imported by path as Lambda would."""
    adapters = Path(os.environ.get("MARTECH_BUS_ADAPTERS_DIR") or "adapters")
    path = adapters / adapter / "handler.py"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found (is MARTECH_BUS_ADAPTERS_DIR right?)")
    spec = importlib.util.spec_from_file_location(f"{adapter}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("adapter", help="adapter folder name, e.g. meta_capi")
    parser.add_argument("events", type=Path, help="a JSON file: one event or an array of them")
    args = parser.parse_args(argv)
    handler = load_handler(args.adapter)
    body = args.events.read_text(encoding="utf-8")
    # Lambda sends the function's output (JSON logs, CloudWatch EMF metrics) to CloudWatch;
    # here it goes to stderr, so stdout holds the response alone.
    with contextlib.redirect_stdout(sys.stderr):
        response = handler(http_api_event(body), LocalContext(f"martech-bus-{args.adapter}"))
    shown = {**response, "body": json.loads(response["body"])}
    print(json.dumps(shown, indent=2))
    return 0 if response["statusCode"] == 202 else 1


if __name__ == "__main__":
    sys.exit(main())
