"""API Gateway (REST API v1 and HTTP API v2): JSON responses whose status says what to do."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.aws import events
from tests.aws.fakes import Harness, event, http_body

ApiEvent = Callable[..., dict[str, Any]]
BOTH_VERSIONS = pytest.mark.parametrize(
    "api_event", [events.api_v1_event, events.api_v2_event], ids=["v1", "v2"]
)


@BOTH_VERSIONS
def test_one_accepted_event_is_202_with_its_result(lam: Harness, api_event: ApiEvent) -> None:
    response = lam(api_event(event("a")))

    assert response["statusCode"] == 202
    assert http_body(response) == {
        "results": [{"event_id": "a", "status": "delivered"}],
        "accepted": 1,
    }


def test_the_v2_method_is_read_from_the_request_context(lam: Harness) -> None:
    lambda_event = events.api_v2_event(event("a"), method="PUT")

    assert "httpMethod" not in lambda_event
    assert lam(lambda_event)["statusCode"] == 405


@BOTH_VERSIONS
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_method_other_than_post_is_405_naming_the_allowed_one(
    lam: Harness, api_event: ApiEvent, method: str
) -> None:
    response = lam(api_event(event("a"), method=method))

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "POST"
    assert lam.pipeline.calls == []


@pytest.mark.parametrize(
    "body",
    [[event("a"), event("b")], {"events": [event("a"), event("b")]}],
    ids=["array", "events-object"],
)
def test_a_batch_body_reaches_the_pipeline_as_one_batch(lam: Harness, body: Any) -> None:
    response = lam(events.api_v2_event(body))

    assert lam.pipeline.calls == [[event("a"), event("b")]]
    assert http_body(response)["accepted"] == 2


@BOTH_VERSIONS
def test_a_base64_body_is_decoded(lam: Harness, api_event: ApiEvent) -> None:
    response = lam(api_event(event("a"), base64_encoded=True))

    assert response["statusCode"] == 202
    assert lam.pipeline.calls == [[event("a")]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("", "empty"),
        (None, "empty"),
        ('"an event"', "got a string"),
        ("42", "got a number"),
        ("null", "got null"),
        ("[]", "no events"),
        ('{"events": {}}', '"events" must be an array'),
        ('{"price": NaN}', "NaN is not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_a_body_without_events_is_400_and_never_reaches_the_pipeline(
    lam: Harness, body: str | bytes | None, message: str
) -> None:
    if isinstance(body, bytes):
        lambda_event = events.api_v1_event(base64.b64encode(body).decode())
        lambda_event["isBase64Encoded"] = True
    else:
        lambda_event = events.api_v1_event(body)

    response = lam(lambda_event)

    assert response["statusCode"] == 400
    assert message in http_body(response)["message"]
    assert lam.contexts == []


def test_a_body_flagged_base64_that_is_not_base64_is_400(lam: Harness) -> None:
    lambda_event = events.api_v2_event("{not base64!}") | {"isBase64Encoded": True}

    response = lam(lambda_event)

    assert response["statusCode"] == 400
    assert "base64" in http_body(response)["message"]


def test_a_body_over_the_limit_is_413(lam: Harness) -> None:
    lam.options["max_body_bytes"] = 100

    response = lam(events.api_v1_event([event(f"event-{i}") for i in range(10)]))

    assert response["statusCode"] == 413
    assert "100 bytes" in http_body(response)["message"]
    assert lam.pipeline.calls == []


def test_the_limit_applies_to_the_decoded_body(lam: Harness) -> None:
    body = [event("a")]
    size = len(events.as_body(body))
    lam.options["max_body_bytes"] = size

    response = lam(events.api_v2_event(body, base64_encoded=True))

    assert response["statusCode"] == 202


def test_the_default_limit_is_one_mebibyte(lam: Harness) -> None:
    padding = "x" * (1024 * 1024)

    response = lam(events.api_v1_event([event("a") | {"padding": padding}]))

    assert response["statusCode"] == 413


def test_dead_lettered_and_skipped_events_are_accepted(lam: Harness) -> None:
    response = lam(events.api_v1_event([event("a", "dead_lettered"), event("b", "skipped")]))

    assert response["statusCode"] == 202
    assert http_body(response) == {
        "results": [
            {"event_id": "a", "status": "dead_lettered", "reason": "scripted dead_lettered"},
            {"event_id": "b", "status": "skipped", "reason": "scripted skipped"},
        ],
        "accepted": 2,
    }


def test_an_invalid_event_is_400_and_the_valid_ones_in_the_batch_are_still_processed(
    lam: Harness,
) -> None:
    response = lam(events.api_v1_event([event("a"), event("b", "invalid"), event("c")]))

    body = http_body(response)
    assert response["statusCode"] == 400
    assert body["errors"] == [
        {"index": 1, "event_id": "b", "problems": ["at properties.url: missing required field"]}
    ]
    assert body["accepted"] == 2
    assert [r["status"] for r in body["results"]] == ["delivered", "invalid", "delivered"]
    assert "the other 2 were processed" in body["message"]


def test_an_invalid_event_without_an_id_is_reported_by_index(lam: Harness) -> None:
    response = lam(events.api_v1_event([event("a"), "just text"]))

    assert http_body(response)["errors"] == [
        {"index": 1, "problems": ["an event must be a JSON object, got str"]}
    ]


def test_an_event_left_for_later_is_503_with_retry_after(lam: Harness) -> None:
    response = lam(events.api_v2_event([event("a"), event("b", "retry_later")]))

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert http_body(response)["accepted"] == 1


def test_retry_after_is_configurable(lam: Harness) -> None:
    lam.options["retry_after_seconds"] = 30

    response = lam(events.api_v2_event(event("a", "retry_later")))

    assert response["headers"]["Retry-After"] == "30"


def test_an_event_left_for_later_wins_over_an_invalid_one_so_nothing_is_lost(
    lam: Harness,
) -> None:
    response = lam(events.api_v1_event([event("a", "invalid"), event("b", "retry_later")]))

    assert response["statusCode"] == 503
    assert http_body(response)["errors"][0]["event_id"] == "a"


def test_a_pipeline_exception_is_a_json_500(lam: Harness) -> None:
    lam.pipeline.error = ZeroDivisionError("bug")

    response = lam(events.api_v1_event(event("a")))

    assert response["statusCode"] == 500
    assert http_body(response)["message"].startswith("internal error")


@pytest.mark.parametrize(
    ("lambda_event", "status"),
    [
        (events.api_v1_event(event("a")), 202),
        (events.api_v1_event(event("a", "invalid")), 400),
        (events.api_v1_event("{oops"), 400),
        (events.api_v2_event(event("a"), method="GET"), 405),
        (events.api_v2_event(event("a", "retry_later")), 503),
    ],
)
def test_every_response_is_json(lam: Harness, lambda_event: dict[str, Any], status: int) -> None:
    response = lam(lambda_event)

    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    assert isinstance(http_body(response), dict)
