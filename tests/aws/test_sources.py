"""Which service invoked the function, read from the documented event shapes."""

from __future__ import annotations

from typing import Any

import pytest

from martech_bus.aws import EventShapeError, EventSource, UnknownEventSourceError
from martech_bus.aws.sources import batch_records, detect_source, parse_json_or_text
from martech_bus.errors import TerminalError
from tests.aws import events
from tests.aws.fakes import Harness


@pytest.mark.parametrize(
    ("lambda_event", "source"),
    [
        (events.api_v1_event("{}"), EventSource.API_GATEWAY_V1),
        (events.api_v2_event("{}"), EventSource.API_GATEWAY_V2),
        (events.sqs_event("{}"), EventSource.SQS),
        (events.sqs_event("{}", fifo=True), EventSource.SQS_FIFO),
        (events.eventbridge_event({}), EventSource.EVENTBRIDGE),
        (events.kinesis_event({}), EventSource.KINESIS),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_documented_event_shape_is_detected(
    lambda_event: dict[str, Any], source: EventSource
) -> None:
    assert detect_source(lambda_event) is source


def test_an_http_api_payload_format_1_0_event_is_read_like_a_rest_api_event() -> None:
    lambda_event = events.api_v1_event("{}") | {"version": "1.0"}

    assert detect_source(lambda_event) is EventSource.API_GATEWAY_V1


def test_a_fifo_queue_is_recognised_by_message_group_id_alone() -> None:
    record = events.sqs_record("{}", fifo=True) | {"eventSourceARN": events.QUEUE_ARN}

    assert detect_source({"Records": [record]}) is EventSource.SQS_FIFO


def test_an_unknown_shape_is_a_terminal_error_naming_the_keys_it_saw() -> None:
    with pytest.raises(UnknownEventSourceError, match="got keys: action, payload") as caught:
        detect_source({"payload": {}, "action": "x"})

    assert isinstance(caught.value, TerminalError)


def test_records_from_an_unsupported_service_name_it() -> None:
    s3_event = {"Records": [{"eventSource": "aws:s3", "s3": {}}]}

    with pytest.raises(UnknownEventSourceError, match="'aws:s3'"):
        detect_source(s3_event)


def test_records_from_two_services_in_one_event_are_refused() -> None:
    mixed = {"Records": [events.sqs_record("{}"), events.kinesis_record(b"{}")]}

    with pytest.raises(UnknownEventSourceError, match="several sources"):
        detect_source(mixed)


def test_an_event_that_is_not_an_object_is_an_unknown_shape() -> None:
    with pytest.raises(UnknownEventSourceError, match="must be a JSON object, got list"):
        detect_source([])


def test_the_handler_raises_for_an_unknown_shape_without_building_a_pipeline(
    lam: Harness,
) -> None:
    with pytest.raises(UnknownEventSourceError):
        lam({"hello": "world"})

    assert lam.contexts == []


@pytest.mark.parametrize("identifier", ["", None])
def test_an_sqs_record_without_a_message_id_is_refused_rather_than_reported_blank(
    identifier: str | None,
) -> None:
    lambda_event = events.sqs_event("{}")
    lambda_event["Records"][0]["messageId"] = identifier

    with pytest.raises(EventShapeError, match="no messageId"):
        batch_records(lambda_event, EventSource.SQS)


def test_a_kinesis_record_without_a_sequence_number_is_refused() -> None:
    lambda_event = events.kinesis_event({})
    del lambda_event["Records"][0]["kinesis"]["sequenceNumber"]

    with pytest.raises(EventShapeError, match="no sequenceNumber"):
        batch_records(lambda_event, EventSource.KINESIS)


@pytest.mark.parametrize("text", ["NaN", '{"price": Infinity}', "[" * 100_000, "not json"])
def test_text_that_is_not_strict_json_stays_text(text: str) -> None:
    assert parse_json_or_text(text) == text
