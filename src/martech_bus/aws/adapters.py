"""``adapter_handler``: a ready Lambda handler that delivers canonical events to adapters."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from martech_bus.aws.handler import InvocationContext, make_handler

if TYPE_CHECKING:
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
    (e.g. ``sqs:<queue url>``, ``dynamodb:<table>``).
    """
    if not adapters:
        raise ValueError("adapter_handler needs at least one adapter")
    shared: list[Runtime] = [runtime] if runtime is not None else []

    def build(context: InvocationContext) -> Pipeline:
        if not shared:
            from martech_bus.integration import Runtime

            shared.append(Runtime())
        return shared[0].pipeline(
            adapters, retry_later=context.retry_later, remaining_time=context.remaining_time
        )

    return make_handler(build, flush=flush)
