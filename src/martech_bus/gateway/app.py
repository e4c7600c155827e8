"""The Starlette ASGI app: HTTP in, ``Gateway`` rules, JSON out.

Routes: ``POST /v1/events``, ``POST /v1/sources/{source}``, ``GET /healthz``,
``GET /metrics``. Every answer, errors included, is JSON (Prometheus text for
``/metrics``). The body is read in chunks and reading stops as soon as it is
over the limit, whatever ``Content-Length`` claimed. Buffer appends block (an
fsync), so they run in the thread pool; concurrent requests then share group
commits.

Starlette and uvicorn are the ``gateway`` extra: ``pip install 'martech-bus[gateway]'``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the gateway needs Starlette and uvicorn: pip install 'martech-bus[gateway]'"
    ) from exc

from martech_bus.gateway.ingest import (
    EVENTS_PATH,
    HEALTH_PATH,
    METRICS_PATH,
    SOURCES_PREFIX,
    Gateway,
    Reply,
    RequestHead,
    error,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

logger = logging.getLogger("martech_bus.gateway")


def respond(reply: Reply) -> Response:
    return Response(
        reply.content(), reply.status, dict(reply.headers), media_type=reply.content_type
    )


def create_app(gateway: Gateway) -> Starlette:
    """The ASGI app serving ``gateway``."""

    async def post(request: Request, target: str | Reply) -> Response:
        if isinstance(target, Reply):
            return respond(target)
        head = RequestHead.of(
            request.method,
            request.url.path,
            request.headers.items(),
            request.client.host if request.client else None,
        )
        refused = gateway.check(target, head)
        if refused is not None:
            return respond(refused)
        body = await _read(request, gateway.max_body_bytes)
        if body is None:
            return respond(gateway.too_large(target))
        # append blocks (fsync, network): off the event loop, so other requests keep flowing.
        return respond(await run_in_threadpool(gateway.accept, target, head, body))

    async def events(request: Request) -> Response:
        return await post(request, gateway.resolve(request.method, EVENTS_PATH))

    async def source(request: Request) -> Response:
        name = request.path_params["source"]
        return await post(request, gateway.resolve(request.method, SOURCES_PREFIX + name))

    async def healthz(request: Request) -> Response:
        return respond(await run_in_threadpool(gateway.health))

    async def metrics(request: Request) -> Response:
        return respond(Reply(200, text=await run_in_threadpool(gateway.metrics_text)))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in (404, 405):  # the gateway's own JSON answer, counted
            found = gateway.resolve(request.method, request.url.path)
            if isinstance(found, Reply):
                return respond(found)
        return respond(error(exc.status_code, "http_error", str(exc.detail), exc.headers))

    async def server_error(request: Request, exc: Exception) -> Response:
        logger.exception(
            "unexpected error on %s %s", request.method, request.url.path, exc_info=exc
        )
        return respond(
            error(
                500,
                "internal_error",
                "unexpected error; nothing was acknowledged, send the request again",
            )
        )

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: http_error,
        Exception: server_error,
    }
    return Starlette(
        routes=[
            Route(EVENTS_PATH, events, methods=["POST"]),
            Route(SOURCES_PREFIX + "{source}", source, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(METRICS_PATH, metrics, methods=["GET"]),
        ],
        exception_handlers=handlers,
    )


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is over ``limit`` bytes (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = ["create_app", "respond"]
