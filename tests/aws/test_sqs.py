"""SQS: a partial batch response listing only the records SQS must deliver again."""

from __future__ import annotations

import pytest

from tests.aws import events
from tests.aws.fakes import Harness, event


def failures(*indexes: int) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": events.message_id(i)} for i in indexes]}


def test_a_batch_that_all_succeeded_answers_an_empty_failure_list(lam: Harness) -> None:
    assert lam(events.sqs_event(event("a"), event("b"))) == failures()


def test_only_retry_later_records_are_reported(lam: Harness) -> None:
    response = lam(events.sqs_event(event("a"), event("b", "retry_later"), event("c")))

    assert response == failures(1)


@pytest.mark.parametrize("outcome", ["invalid", "dead_lettered", "delivered", "skipped"])
def test_records_kept_or_done_are_successes_so_they_are_never_retried(
    lam: Harness, outcome: str
) -> None:
    assert lam(events.sqs_event(event("a", outcome))) == failures()


def test_a_standard_queue_batch_reaches_the_pipeline_in_one_call(lam: Harness) -> None:
    lam(events.sqs_event(event("a"), event("b", "retry_later"), event("c")))

    assert lam.pipeline.calls == [[event("a"), event("b", "retry_later"), event("c")]]


def test_a_body_that_is_not_json_reaches_the_pipeline_as_its_raw_text(lam: Harness) -> None:
    response = lam(events.sqs_event("order 42 <not json>"))

    assert lam.pipeline.calls == [["order 42 <not json>"]]
    assert response == failures()


def test_fifo_reports_the_first_retry_later_record_and_every_later_one(lam: Harness) -> None:
    batch = [event("a"), event("b", "retry_later"), event("c"), event("d", "invalid")]

    assert lam(events.sqs_event(*batch, fifo=True)) == failures(1, 2, 3)


def test_fifo_does_not_process_records_after_the_first_failure(lam: Harness) -> None:
    lam(events.sqs_event(event("a"), event("b", "retry_later"), event("c"), fifo=True))

    assert lam.pipeline.processed == [event("a"), event("b", "retry_later")]


def test_fifo_keeps_going_past_invalid_records(lam: Harness) -> None:
    response = lam(events.sqs_event(event("a", "invalid"), event("b"), fifo=True))

    assert response == failures()
    assert lam.pipeline.calls == [[event("a", "invalid")], [event("b")]]


def test_a_pipeline_exception_raises_so_the_whole_batch_is_delivered_again(
    lam: Harness,
) -> None:
    lam.pipeline.error = KeyError("bug")

    with pytest.raises(KeyError, match="bug"):
        lam(events.sqs_event(event("a"), event("b")))


def test_a_pipeline_returning_too_few_results_fails_the_batch_instead_of_guessing(
    lam: Harness,
) -> None:
    lam.pipeline.drop_last_result = True

    with pytest.raises(RuntimeError, match="1 results for 2 events"):
        lam(events.sqs_event(event("a"), event("b")))
