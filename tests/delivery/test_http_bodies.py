"""Declared vendor conventions: an error inside a 200 body, and per-item partial failures."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from martech_bus.errors import ConfigError
from martech_bus.sinks.base import OutcomeKind
from martech_bus.sinks.http import MISSING, ErrorIn200, PartialFailure, lookup
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import deliveries, delivery

D, L, R = OutcomeKind.DELIVERED, OutcomeKind.DEAD_LETTERED, OutcomeKind.RETRY_LATER
META_ERROR = ErrorIn200(path="error", when="present", message_path="error.message")


def answer(httpserver: HTTPServer, body: Any) -> None:
    httpserver.expect_request("/events").respond_with_json(body)


def test_an_error_inside_a_200_body_is_a_terminal_failure(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"error": {"message": "Invalid pixel id", "code": 100}})
    [outcome] = make_sink(error_in_200=META_ERROR).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts, outcome.status_code) == (L, 1, 200)
    # The vendor's message may echo the payload: it is kept for the dead letter, not logged.
    assert outcome.reason is not None and "Invalid pixel id" not in outcome.reason
    assert outcome.detail["error"] == "HTTP 200 OK: Invalid pixel id"


def test_a_200_body_without_the_declared_error_is_delivered(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"events_received": 1, "error": None})
    [outcome] = make_sink(error_in_200=META_ERROR).deliver([delivery(1)])
    assert outcome.kind is D


def test_a_falsy_success_flag_is_an_error(httpserver: HTTPServer, make_sink: MakeSink) -> None:
    answer(httpserver, {"success": False})
    rule = ErrorIn200(path="success", when="falsy")
    [outcome] = make_sink(error_in_200=rule).deliver([delivery(1)])
    assert outcome.kind is L
    assert outcome.reason == "HTTP 200 OK: error in a 2xx body"


def test_an_error_status_equal_to_a_value_is_an_error(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"meta": {"status": "failed"}})
    rule = ErrorIn200(path="meta.status", when="equals", value="failed")
    [outcome] = make_sink(error_in_200=rule).deliver([delivery(1)])
    assert outcome.kind is L


def test_a_retryable_error_in_200_is_retried(httpserver: HTTPServer, make_sink: MakeSink) -> None:
    httpserver.expect_ordered_request("/events").respond_with_json({"error": "rate limited"})
    httpserver.expect_ordered_request("/events").respond_with_json({"ok": True})
    rule = ErrorIn200(path="error", retryable=True)
    [outcome] = make_sink(error_in_200=rule).deliver([delivery(1)])
    assert (outcome.kind, outcome.attempts) == (D, 2)


def test_an_error_in_200_rule_comes_from_a_manifest_mapping() -> None:
    assert ErrorIn200.from_mapping({"path": "error", "when": "present"}) == ErrorIn200("error")


def test_an_unknown_error_in_200_setting_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="'wen'"):
        ErrorIn200.from_mapping({"path": "error", "wen": "present"})


def test_an_unknown_when_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="when"):
        ErrorIn200(path="error", when="sometimes")  # type: ignore[arg-type]


def test_a_partial_failure_list_fails_only_the_named_items(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"errors": [{"index": 1, "message": "email is not valid"}]})
    sink = make_sink(max_events=3, partial_failure=PartialFailure(path="errors"))
    outcomes = sink.deliver(deliveries(3))
    assert [o.kind for o in outcomes] == [D, L, D]
    assert outcomes[1].reason == "vendor refused item 1"  # logged: no vendor text
    assert outcomes[1].detail["error"] == "vendor refused item 1: email is not valid"
    assert outcomes[1].detail["response"]["status"] == 200


def test_a_partial_failure_map_of_indexes_with_retryable_items(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(
        httpserver,
        {"result": {"failed": {"0": "unknown profile", "2": {"message": "busy", "retry": True}}}},
    )
    rule = PartialFailure(path="result.failed", retryable_field="retry")
    outcomes = make_sink(max_events=3, partial_failure=rule).deliver(deliveries(3))
    assert [o.kind for o in outcomes] == [L, D, R]
    assert outcomes[0].detail["error"] == "vendor refused item 0: unknown profile"


def test_a_partial_failure_index_outside_the_batch_is_ignored(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"errors": [{"index": 7, "message": "?"}, {"index": "x"}]})
    sink = make_sink(max_events=2, partial_failure=PartialFailure(path="errors"))
    assert [o.kind for o in sink.deliver(deliveries(2))] == [D, D]


def test_a_partial_failure_list_of_bare_indexes(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    answer(httpserver, {"rejected": [0]})
    rule = PartialFailure(path="rejected", retryable=True)
    outcomes = make_sink(max_events=2, partial_failure=rule).deliver(deliveries(2))
    assert [o.kind for o in outcomes] == [R, D]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("a.b[1].c", 2), ("a.b.1.c", 2), ("a.b[5].c", MISSING), ("a.x", MISSING), ("a.b.x", MISSING)],
)
def test_a_dotted_path_reads_nested_values(path: str, expected: Any) -> None:
    assert lookup({"a": {"b": [{"c": 1}, {"c": 2}]}}, path) == expected
