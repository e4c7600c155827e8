"""Kinesis: base64 data, sequence numbers as identifiers, in order per shard."""

from __future__ import annotations

import base64

from tests.aws import events
from tests.aws.fakes import Harness, event


def failures(*indexes: int) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": events.sequence_number(i)} for i in indexes]}


def test_record_data_is_base64_decoded_into_the_event(lam: Harness) -> None:
    lam(events.kinesis_event(event("a"), event("b")))

    assert lam.pipeline.processed == [event("a"), event("b")]


def test_failures_are_reported_by_sequence_number_from_the_first_failure_on(
    lam: Harness,
) -> None:
    batch = [event("a"), event("b", "retry_later"), event("c")]

    assert lam(events.kinesis_event(*batch)) == failures(1, 2)


def test_records_after_the_first_failure_are_not_processed(lam: Harness) -> None:
    lam(events.kinesis_event(event("a", "retry_later"), event("b")))

    assert lam.pipeline.processed == [event("a", "retry_later")]


def test_a_shard_batch_that_all_succeeded_answers_an_empty_failure_list(lam: Harness) -> None:
    assert lam(events.kinesis_event(event("a"), event("b", "dead_lettered"))) == failures()


def test_data_that_is_not_json_reaches_the_pipeline_as_text(lam: Harness) -> None:
    lam(events.kinesis_event(b"hello, this is a test."))

    assert lam.pipeline.processed == ["hello, this is a test."]


def test_data_that_is_not_text_reaches_the_pipeline_as_the_base64_received(
    lam: Harness,
) -> None:
    lam(events.kinesis_event(b"\xff\xfe\x00binary"))

    assert lam.pipeline.processed == [base64.b64encode(b"\xff\xfe\x00binary").decode()]
