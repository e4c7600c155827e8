"""The gateway as an AWS Lambda function behind API Gateway (REST v1 or HTTP API v2).

Same routes, rules and answers as ``gateway serve`` (the ``Gateway`` core is
shared); only the translation differs. The buffer is chosen by
``MARTECH_BUS_BUFFER``, typically ``sqs:<queue url>``: a 202 means SQS stored the
message. ``POST /v1/events`` needs ``MARTECH_BUS_GATEWAY_TOKENS`` here (a
function URL is never "local"); source routes are protected by their signatures.

Nothing heavy is imported with this module: sources, secrets and the buffer
are loaded on the first invocation and kept for the container's life, and
expired sources are warned about then (every cold start). Metrics go out as
CloudWatch EMF after every invocation::

    # handler.py
    from martech_bus.gateway.lambda_handler import gateway_handler

    handler = gateway_handler()
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from martech_bus.aws.sources import (
    BadRequestError,
    EventShapeError,
    EventSource,
    detect_source,
    http_request,
)
from martech_bus.gateway.ingest import Gateway, Reply, RequestHead, error

if TYPE_CHECKING:
    from martech_bus.buffer.base import BufferStore
    from martech_bus.gateway.auth import BearerAuth
    from martech_bus.gateway.sources import InboundSource

logger = logging.getLogger("martech_bus.gateway.lambda")

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def gateway_handler(
    *,
    buffer: BufferStore | None = None,
    sources: Mapping[str, InboundSource] | None = None,
    sources_dir: str | Path | None = None,
    auth: BearerAuth | None = None,
    clock: Callable[[], float] = time.time,
    max_body_bytes: int | None = None,
    emf: bool = True,
) -> LambdaHandler:
    """A Lambda handler for API Gateway events; anything not given comes from the environment."""
    built: list[Gateway] = []

    def gateway() -> Gateway:
        if not built:
            built.append(_build(buffer, sources, sources_dir, auth, clock, max_body_bytes))
        return built[0]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        source = detect_source(event)
        if not source.is_http:
            raise EventShapeError(f"the gateway takes API Gateway requests, not {source} events")
        current = gateway()
        try:
            return _response(_handle(current, event, source))
        finally:
            if emf:
                from martech_bus.observability.emf import EmfPublisher

                EmfPublisher().flush(current.metrics)

    return handler


def _build(
    buffer: BufferStore | None,
    sources: Mapping[str, InboundSource] | None,
    sources_dir: str | Path | None,
    auth: BearerAuth | None,
    clock: Callable[[], float],
    max_body_bytes: int | None,
) -> Gateway:
    from martech_bus.gateway.auth import BearerAuth
    from martech_bus.gateway.expiry import ExpiryMonitor
    from martech_bus.gateway.metrics import gateway_metrics
    from martech_bus.gateway.settings import GatewaySettings
    from martech_bus.gateway.sources import find_sources

    settings = GatewaySettings.resolve(max_body_bytes=max_body_bytes)
    if buffer is None:
        from martech_bus.buffer.select import buffer_store

        buffer = buffer_store()
    found = dict(sources) if sources is not None else find_sources(sources_dir)
    metrics = gateway_metrics()
    expiry = ExpiryMonitor(
        found.values(), clock=clock, interval=settings.expiry_warn_interval, metrics=metrics
    )
    expiry.start()
    return Gateway(
        buffer,
        found,
        auth=auth or BearerAuth.from_setting(),
        clock=clock,
        max_body_bytes=settings.max_body_bytes,
        metrics=metrics,
        expiry=expiry,
        local_only=False,
    )


def _handle(gateway: Gateway, event: Mapping[str, Any], source: EventSource) -> Reply:
    request = http_request(event, source)
    head = RequestHead.of(
        request.method, _path(event, source), _headers(event), _client(event, source)
    )
    target = gateway.resolve(head.method, head.path)
    if target == "metrics":
        # Counters are reset after every invocation's EMF flush: nothing here to scrape.
        return error(
            404,
            "not_found",
            "in Lambda, metrics go to CloudWatch as EMF after every invocation; "
            "there is no /metrics to scrape",
        )
    if isinstance(target, Reply) or target == "healthz":
        return gateway.handle(head, b"")
    refused = gateway.check(target, head)
    if refused is not None:
        return refused
    try:
        body = request.data()
    except BadRequestError as exc:
        return error(400, "bad_request", str(exc))
    return gateway.accept(target, head, body)


def _path(event: Mapping[str, Any], source: EventSource) -> str:
    """The route path, without a stage or a custom domain's base path in front of it."""
    if source is EventSource.API_GATEWAY_V2:
        path = event.get("rawPath") or event["requestContext"]["http"].get("path") or "/"
    else:
        path = event.get("path") or "/"
    path = str(path)
    start = path.find("/v1/")
    if start > 0:
        return path[start:]
    for suffix in ("/healthz", "/metrics"):
        if path.endswith(suffix):
            return suffix
    return path


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping):  # REST API (v1): the last value of a repeated header wins
        for name, values in multi.items():
            if isinstance(values, list) and values:
                found[str(name).lower()] = str(values[-1])
    single = event.get("headers")
    if isinstance(single, Mapping):
        for name, value in single.items():
            if value is not None:
                found.setdefault(str(name).lower(), str(value))
    return found


def _client(event: Mapping[str, Any], source: EventSource) -> str | None:
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    holder = context.get("http" if source is EventSource.API_GATEWAY_V2 else "identity")
    ip = holder.get("sourceIp") if isinstance(holder, Mapping) else None
    return ip if isinstance(ip, str) else None


def _response(reply: Reply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {"Content-Type": reply.content_type, **reply.headers},
        "body": reply.content().decode("utf-8"),
        "isBase64Encoded": False,
    }


__all__ = ["gateway_handler"]
