"""AWS Lambda entry point: event-source parsing, the handler factory, partial batch responses.

Light on purpose (standard library and light martech_bus modules only): it is
imported on every Lambda cold start. See ``docs/deploy-lambda.md``.
"""

from __future__ import annotations

from martech_bus.aws.adapters import adapter_handler
from martech_bus.aws.handler import (
    FlushError,
    InvocationContext,
    PipelineLike,
    RetryLaterError,
    make_handler,
)
from martech_bus.aws.sources import EventShapeError, EventSource, UnknownEventSourceError

__all__ = [
    "EventShapeError",
    "EventSource",
    "FlushError",
    "InvocationContext",
    "PipelineLike",
    "RetryLaterError",
    "UnknownEventSourceError",
    "adapter_handler",
    "make_handler",
]
