"""EventBridge: the canonical event is ``detail``; asynchronous invocation retries on raise."""

from __future__ import annotations

import pytest

from martech_bus.aws import RetryLaterError
from martech_bus.errors import TransientError
from tests.aws import events
from tests.aws.fakes import Harness, event


def test_the_detail_is_the_canonical_event(lam: Harness) -> None:
    response = lam(events.eventbridge_event(event("a")))

    assert lam.pipeline.calls == [[event("a")]]
    assert response == {"results": [{"event_id": "a", "status": "delivered"}], "accepted": 1}


def test_an_event_left_for_later_raises_so_lambda_retries_the_invocation(lam: Harness) -> None:
    with pytest.raises(RetryLaterError, match="event a could not be delivered now") as caught:
        lam(events.eventbridge_event(event("a", "retry_later")))

    assert isinstance(caught.value, TransientError)


@pytest.mark.parametrize("outcome", ["invalid", "dead_lettered"])
def test_an_event_kept_as_a_dead_letter_returns_normally_so_it_is_not_retried(
    lam: Harness, outcome: str
) -> None:
    response = lam(events.eventbridge_event(event("a", outcome)))

    assert response is not None
    assert response["results"][0]["status"] == outcome


def test_a_pipeline_exception_propagates(lam: Harness) -> None:
    lam.pipeline.error = ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        lam(events.eventbridge_event(event("a")))
