"""``adapter_handler``: a ready Lambda handler that delivers canonical events to adapters."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from martech_bus.aws.handler import InvocationContext, make_handler

if TYPE_CHECKING:
    from pathlib import Path  # not at run time: pathlib is ~5 ms of the handler import

    from martech_bus.integration import Runtime
    from martech_bus.pipeline import Pipeline


def adapter_handler(
    *adapters: str | Path,
    runtime: Runtime | None = None,
    flush: Callable[[], None] | None = None,
) -> Callable[[dict[str, Any], Any], dict[str, Any] | None]:
    """A Lambda handler delivering to ``adapters`` (folder names or paths).

    Nothing is loaded at import: the schema registry, the adapters, the httpx
    client and the stores are built on the first invocation and kept for the
    container's life. Stores follow ``MARTECH_BUS_DLQ`` / ``MARTECH_BUS_IDEMPOTENCY``
    (e.g. ``sqs:<queue url>``, ``dynamodb:<table>``). Logs are JSON lines through
    the redacting filter; metrics go out as CloudWatch EMF after every invocation.
    """
    if not adapters:
        raise ValueError("adapter_handler needs at least one adapter")
    shared: list[Runtime] = [runtime] if runtime is not None else []

    def current() -> Runtime:
        if not shared:
            from martech_bus.integration import Runtime
            from martech_bus.observability.logs import configure_logging

            made = Runtime()
            configure_logging(registry=made.registry)
            shared.append(made)
        return shared[0]

    def build(context: InvocationContext) -> Pipeline:
        return current().pipeline(
            adapters, retry_later=context.retry_later, remaining_time=context.remaining_time
        )

    def flush_all() -> None:
        if flush is not None:
            flush()  # a Kafka producer first: its failure must fail the invocation
        if shared:
            from martech_bus.observability.emf import EmfPublisher

            EmfPublisher().flush(shared[0].metrics)

    return make_handler(build, flush=flush_all)
