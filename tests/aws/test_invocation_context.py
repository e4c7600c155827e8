"""What ``build`` is told about each invocation."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.aws import EventSource
from martech_bus.pipeline import RetryLater
from tests.aws import events
from tests.aws.fakes import Harness, LambdaContext, event

EVENTS = {
    EventSource.API_GATEWAY_V1: events.api_v1_event(event("a")),
    EventSource.API_GATEWAY_V2: events.api_v2_event(event("a")),
    EventSource.SQS: events.sqs_event(event("a")),
    EventSource.SQS_FIFO: events.sqs_event(event("a"), fifo=True),
    EventSource.EVENTBRIDGE: events.eventbridge_event(event("a")),
    EventSource.KINESIS: events.kinesis_event(event("a")),
}
RETRY_LATER = {
    EventSource.API_GATEWAY_V1: RetryLater.DEAD_LETTER,
    EventSource.API_GATEWAY_V2: RetryLater.DEAD_LETTER,
    EventSource.SQS: RetryLater.REPORT,
    EventSource.SQS_FIFO: RetryLater.REPORT,
    EventSource.EVENTBRIDGE: RetryLater.DEAD_LETTER,
    EventSource.KINESIS: RetryLater.REPORT,
}


@pytest.mark.parametrize("source", list(EventSource))
def test_build_is_told_the_detected_source(lam: Harness, source: EventSource) -> None:
    lam(EVENTS[source])

    assert [context.source for context in lam.contexts] == [source]


@pytest.mark.parametrize("source", list(EventSource))
def test_only_sources_that_retry_by_themselves_get_retry_later_reported(
    lam: Harness, source: EventSource
) -> None:
    lam(EVENTS[source])

    assert lam.contexts[0].retry_later is RETRY_LATER[source]


def test_remaining_time_is_read_from_the_lambda_context_in_seconds(lam: Harness) -> None:
    context = LambdaContext(remaining_millis=12_345)
    lam(events.sqs_event(event("a")), context)
    remaining_time = lam.contexts[0].remaining_time
    assert remaining_time is not None

    context.remaining_millis = 2_500

    assert remaining_time() == 2.5


def test_there_is_no_remaining_time_outside_lambda() -> None:
    harness = Harness()
    harness.handler(events.sqs_event(event("a")), None)

    assert harness.contexts[0].remaining_time is None


def test_the_request_id_is_passed_on(lam: Harness) -> None:
    lam(events.sqs_event(event("a")), LambdaContext(aws_request_id="req-1"))

    assert lam.contexts[0].request_id == "req-1"


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
def test_build_is_called_once_per_invocation(lam: Harness, fifo: bool) -> None:
    lam(events.sqs_event(event("a"), event("b"), event("c"), fifo=fifo))
    lam(events.sqs_event(event("d"), fifo=fifo))

    assert len(lam.contexts) == 2


def test_the_context_is_immutable(lam: Harness) -> None:
    lam(events.sqs_event(event("a")))
    context: Any = lam.contexts[0]

    with pytest.raises(AttributeError):
        context.source = EventSource.KINESIS
