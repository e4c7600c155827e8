"""The Starlette ASGI app: HTTP in, ``Gateway`` rules, JSON out.

Routes: ``POST /v1/events``, ``POST /v1/sources/{source}``, ``GET /healthz``,
``GET /metrics``. Every answer, errors included, is JSON (Prometheus text for
``/metrics``). The body is read in chunks and reading stops as soon as it is
over the limit, whatever ``Content-Length`` claimed.

Buffer appends block (an fsync), so they never run on the event loop. With a
buffer that ``shares_commits`` (SQLite, memory), requests that pass their checks
queue on the loop, and one write at a time takes everything queued (``_Appends``):
concurrent requests share one transaction and one thread hop, instead of a
pool thread each contending for the GIL. Otherwise (SQS: a network call per
append) each request is accepted in a pool thread of its own.

Starlette and uvicorn are the ``gateway`` extra: ``pip install 'martech-bus[gateway]'``.
"""

from __future__ import annotations

import asyncio
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
    Admitted,
    Gateway,
    Reply,
    RequestHead,
    error,
)
from martech_bus.gateway.sources import CANONICAL

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

logger = logging.getLogger("martech_bus.gateway")


def respond(reply: Reply) -> Response:
    return Response(
        reply.content(), reply.status, dict(reply.headers), media_type=reply.content_type
    )


def create_app(gateway: Gateway) -> Starlette:
    """The ASGI app serving ``gateway``."""
    appends = _Appends(gateway)

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
        if not gateway.buffer.shares_commits:
            # append blocks (network): off the event loop, so other requests keep flowing.
            return respond(await run_in_threadpool(gateway.accept, target, head, body))
        if target == CANONICAL:
            admitted = gateway.admit(target, head, body)  # CPU only: a thread would not help
        else:  # a source's signing secret may be fetched over the network
            admitted = await run_in_threadpool(gateway.admit, target, head, body)
        if isinstance(admitted, Reply):
            return respond(admitted)
        return respond(await appends.store(admitted))

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


class _Appends:
    """Group commit on the event loop: requests admitted while a write runs go in the next one.

    One write at a time, in the loop's default executor, takes every request queued
    when it starts (``Gateway.store``: one transaction, one thread hop). Under load
    the groups grow by themselves; a lone request is written at once. Each request
    is answered only after the write holding it returned (durable).
    """

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._queued: list[tuple[Admitted, asyncio.Future[Reply]]] = []
        self._writing = False

    async def store(self, admitted: Admitted) -> Reply:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Reply] = loop.create_future()
        self._queued.append((admitted, answer))
        if not self._writing:
            self._write(loop)
        return await answer

    def _write(self, loop: asyncio.AbstractEventLoop) -> None:
        group, self._queued = self._queued, []
        self._writing = True
        try:
            written = loop.run_in_executor(None, self._gateway.store, [a for a, _ in group])
        except RuntimeError as exc:  # the executor is shut down: the server is stopping
            self._writing = False
            self._settle(group, exc)
            return
        written.add_done_callback(lambda done: self._answer(loop, group, done))

    def _answer(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[tuple[Admitted, asyncio.Future[Reply]]],
        done: asyncio.Future[list[Reply]],
    ) -> None:
        self._writing = False
        if self._queued:
            self._write(loop)  # first: the next fsync overlaps with sending these answers
        try:
            replies = done.result()
        except Exception as exc:  # a bug, not a store failure (those come back as replies)
            self._settle(group, exc)
        else:
            self._settle(group, replies)

    def _settle(
        self,
        group: list[tuple[Admitted, asyncio.Future[Reply]]],
        replies: list[Reply] | Exception,
    ) -> None:
        if isinstance(replies, Exception):
            logger.error("buffer append failed unexpectedly", exc_info=replies)
            replies = [self._gateway.failed(admitted) for admitted, _ in group]
        for (_, answer), reply in zip(group, replies, strict=True):
            if not answer.done():  # cancelled (client gone): its record is written all the same
                answer.set_result(reply)


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
