"""A scripted pipeline, a Lambda context and a harness wiring them to ``make_handler``.

Scripted events say what should become of them: ``event("e1", "retry_later")``.
Anything that is not a dict (a body that was not JSON) is INVALID, as the real
pipeline would say.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from martech_bus.aws import InvocationContext, make_handler
from martech_bus.pipeline import EventResult, EventStatus


def event(event_id: str, outcome: str = "delivered") -> dict[str, Any]:
    return {"event_id": event_id, "outcome": outcome}


def scripted_result(raw: Any) -> EventResult:
    if not isinstance(raw, dict):
        reason = f"an event must be a JSON object, got {type(raw).__name__}"
        return EventResult(None, EventStatus.INVALID, reason, problems=(reason,))
    status = EventStatus(raw.get("outcome", "delivered"))
    if status is EventStatus.INVALID:
        return EventResult(
            raw.get("event_id"),
            status,
            "invalid event (1 problem)",
            problems=("at properties.url: missing required field",),
        )
    shown = None if status is EventStatus.DELIVERED else f"scripted {status.value}"
    return EventResult(raw.get("event_id"), status, shown)


@dataclass
class ScriptedPipeline:
    """Records every ``process`` call; raises ``error`` when set."""

    calls: list[list[Any]] = field(default_factory=list)
    error: Exception | None = None
    drop_last_result: bool = False  # a broken pipeline: one result short

    def process(self, events: Iterable[Any]) -> list[EventResult]:
        batch = list(events)
        self.calls.append(batch)
        if self.error is not None:
            raise self.error
        results = [scripted_result(raw) for raw in batch]
        return results[:-1] if self.drop_last_result else results

    @property
    def processed(self) -> list[Any]:
        return [raw for call in self.calls for raw in call]


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object the entry point reads."""

    remaining_millis: int = 30_000
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class Harness:
    """``make_handler`` around a scripted pipeline, recording builds and flushes."""

    pipeline: ScriptedPipeline = field(default_factory=ScriptedPipeline)
    contexts: list[InvocationContext] = field(default_factory=list)
    flushes: list[int] = field(default_factory=list)  # pipeline calls seen at each flush
    flush_error: Exception | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, context: InvocationContext) -> ScriptedPipeline:
        self.contexts.append(context)
        return self.pipeline

    def flush(self) -> None:
        self.flushes.append(len(self.pipeline.calls))
        if self.flush_error is not None:
            raise self.flush_error

    @property
    def handler(self) -> Callable[[dict[str, Any], Any], dict[str, Any] | None]:
        return make_handler(self.build, flush=self.flush, **self.options)

    def __call__(self, lambda_event: dict[str, Any], context: Any = None) -> Any:
        return self.handler(lambda_event, LambdaContext() if context is None else context)


def http_body(response: dict[str, Any]) -> Any:
    """The decoded JSON body of an API Gateway response."""
    return json.loads(response["body"])
