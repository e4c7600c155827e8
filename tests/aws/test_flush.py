"""``flush`` runs before every return: Lambda freezes the process afterwards."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.aws import FlushError, RetryLaterError, UnknownEventSourceError, make_handler
from tests.aws import events
from tests.aws.fakes import Harness, event, http_body

PATHS = {
    "sqs-ok": events.sqs_event(event("a")),
    "sqs-retry-later": events.sqs_event(event("a", "retry_later")),
    "fifo-stopped": events.sqs_event(event("a", "retry_later"), event("b"), fifo=True),
    "kinesis": events.kinesis_event(event("a")),
    "api-202": events.api_v1_event(event("a")),
    "api-400-event": events.api_v2_event(event("a", "invalid")),
    "api-400-body": events.api_v2_event("{oops"),
    "api-405": events.api_v2_event(event("a"), method="GET"),
    "eventbridge": events.eventbridge_event(event("a")),
}
RAISING_PATHS = {
    "eventbridge-retry-later": (
        events.eventbridge_event(event("a", "retry_later")),
        RetryLaterError,
    ),
    "unknown-shape": ({"hello": "world"}, UnknownEventSourceError),
}


@pytest.mark.parametrize("lambda_event", PATHS.values(), ids=PATHS.keys())
def test_flush_runs_once_after_processing_on_every_returning_path(
    lam: Harness, lambda_event: dict[str, Any]
) -> None:
    lam(lambda_event)

    assert lam.flushes == [len(lam.pipeline.calls)]


@pytest.mark.parametrize(
    ("lambda_event", "error"), RAISING_PATHS.values(), ids=RAISING_PATHS.keys()
)
def test_flush_runs_on_every_raising_path(
    lam: Harness, lambda_event: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        lam(lambda_event)

    assert len(lam.flushes) == 1


@pytest.mark.parametrize(
    "lambda_event",
    [events.sqs_event(event("a")), events.kinesis_event(event("a"))],
    ids=["sqs", "kinesis"],
)
def test_flush_runs_when_the_pipeline_raises(lam: Harness, lambda_event: dict[str, Any]) -> None:
    lam.pipeline.error = KeyError("bug")

    with pytest.raises(KeyError):
        lam(lambda_event)

    assert lam.flushes == [1]


@pytest.mark.parametrize(
    "lambda_event",
    [
        events.sqs_event(event("a")),
        events.sqs_event(event("a"), fifo=True),
        events.kinesis_event(event("a")),
        events.eventbridge_event(event("a")),
    ],
    ids=["sqs", "sqs-fifo", "kinesis", "eventbridge"],
)
def test_a_failed_flush_fails_the_whole_invocation_so_the_source_retries(
    lam: Harness, lambda_event: dict[str, Any]
) -> None:
    lam.flush_error = RuntimeError("3 messages still queued")

    with pytest.raises(FlushError, match="3 messages still queued") as caught:
        lam(lambda_event)

    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_failed_flush_is_503_for_api_gateway(lam: Harness) -> None:
    lam.flush_error = RuntimeError("3 messages still queued")

    response = lam(events.api_v2_event(event("a")))

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert "send the request again" in http_body(response)["message"]


def test_a_failed_flush_after_an_error_keeps_the_original_error(lam: Harness) -> None:
    lam.flush_error = RuntimeError("3 messages still queued")

    with pytest.raises(UnknownEventSourceError) as caught:
        lam({"hello": "world"})

    assert any("3 messages still queued" in note for note in caught.value.__notes__)


def test_flush_is_optional(lam: Harness) -> None:
    handler = make_handler(lam.build)

    assert handler(events.sqs_event(event("a")), None) == {"batchItemFailures": []}
