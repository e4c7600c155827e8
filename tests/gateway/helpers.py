"""Shared pieces of the gateway tests: events, signed requests, a gateway on a real socket."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from martech_bus.gateway.app import create_app
from martech_bus.gateway.ingest import Gateway

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "sources"
SCHEMAS = ROOT / "schemas"
TOKEN = "tok-" + "a" * 40
NEXT_TOKEN = "tok-" + "b" * 40
SHOPIFY_SECRET = "shpss_current_secret_0123456789"
SHOPIFY_PREVIOUS = "shpss_previous_secret_9876543210"
SEGMENT_SECRET = "segment-shared-secret"
#: What every fixture is normalized with: the record id and when it was buffered.
ENVIRON = {
    "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
    "SHOPIFY_WEBHOOK_SECRET_PREVIOUS": SHOPIFY_PREVIOUS,
    "SEGMENT_WEBHOOK_SECRET": SEGMENT_SECRET,
    "WEBSHOP_SECRET": "webshop-secret",
}

WEBSHOP_SOURCE = """\
name: webshop
kind: signed_json
owner: {team: web-platform, contact: web-platform@example.com}
expires_on: "2027-06-30"
migration_plan: https://wiki.example.com/martech/webshop/migration
signature:
  secrets: [env:WEBSHOP_SECRET]
routes:
  page.view: page_viewed
"""
WEBSHOP_MAPPING = """\
mapping_version: 1
source: {event: page_viewed, versions: [1]}
output:
  event_id: {path: id, transform: [{stable_uuid: webshop}]}
  occurred_at: {path: at}
  anonymous_id: {path: visitor}
  context: {ip: {path: ip}}
  properties:
    object:
      path: {path: page}
      url: {template: "https://shop.example{{page}}"}
"""


def write_webshop(root: Path) -> Path:
    """A ``signed_json`` source (timestamped signatures) under ``root``; its folder."""
    folder = root / "webshop"
    (folder / "mappings").mkdir(parents=True)
    (folder / "source.yaml").write_text(WEBSHOP_SOURCE)
    (folder / "mappings" / "page_viewed.yaml").write_text(WEBSHOP_MAPPING)
    return folder


_ORDER: dict[str, Any] = json.loads(
    (ROOT / "examples" / "events" / "order_completed.json").read_text()
)


def order(event_id: str | None = None) -> dict[str, Any]:
    """A valid canonical order_completed event with a fresh (or the given) id."""
    event = copy.deepcopy(_ORDER)
    event["event_id"] = event_id or str(uuid.uuid4())
    return event


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def shopify_headers(
    raw: bytes, secret: str = SHOPIFY_SECRET, topic: str = "orders/create"
) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "acme-store.myshopify.com",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }


def segment_headers(raw: bytes, secret: str = SEGMENT_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Signature": digest}


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def live(gateway: Gateway) -> Iterator[str]:
    """``gateway`` served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(gateway), host="127.0.0.1", port=port, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fixture_meta(headers: Mapping[str, str]) -> dict[str, str]:
    """The meta a buffered record would carry for these request headers."""
    return {"header." + name.lower(): value for name, value in headers.items()}
