"""Batching by count and by bytes, body builders, unsendable payloads, idempotency keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_httpserver import HTTPServer

from martech_bus.sinks.base import OutcomeKind
from tests.delivery.conftest import MakeSink
from tests.delivery.helpers import deliveries, delivery, request_json

D, L = OutcomeKind.DELIVERED, OutcomeKind.DEAD_LETTERED


def accept_all(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/events").respond_with_json({"ok": True})


def meta_body(payloads: list[Mapping[str, Any]]) -> Any:
    return {"data": payloads}


def sent_bodies(httpserver: HTTPServer) -> list[bytes]:
    return [request.get_data() for request, _ in httpserver.log]


def test_one_event_is_sent_as_its_payload(httpserver: HTTPServer, make_sink: MakeSink) -> None:
    accept_all(httpserver)
    make_sink().deliver([delivery(1)])
    assert request_json(httpserver.log[0]) == {"event": "order_completed", "order_id": "o-1"}


def test_deliveries_are_batched_by_count_and_keep_their_order(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    outcomes = make_sink(max_events=2).deliver(deliveries(5))
    bodies = [request_json(entry) for entry in httpserver.log]
    assert [[item["order_id"] for item in body] for body in bodies[:2]] == [
        ["o-0", "o-1"],
        ["o-2", "o-3"],
    ]
    assert bodies[2]["order_id"] == "o-4"  # the last one alone, as its payload
    assert [o.event_id for o in outcomes] == [f"evt-{n}" for n in range(5)]
    assert {o.kind for o in outcomes} == {D}


def test_deliveries_are_batched_by_bytes(httpserver: HTTPServer, make_sink: MakeSink) -> None:
    accept_all(httpserver)
    batch = [delivery(n, blob="x" * 70, n=n) for n in range(10)]  # 87 bytes of JSON each
    outcomes = make_sink(max_events=100, max_bytes=300, build_body=meta_body).deliver(batch)
    bodies = sent_bodies(httpserver)
    assert all(len(body) <= 300 for body in bodies)
    assert len(bodies) == 4  # three items and the {"data":[...]} wrapper fit in 300 bytes
    sent = [item["n"] for entry in httpserver.log for item in request_json(entry)["data"]]
    assert sent == list(range(10))
    assert {o.kind for o in outcomes} == {D}


def test_a_single_event_over_max_bytes_is_dead_lettered_and_the_rest_sent(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    batch = [delivery(0), delivery(1, blob="x" * 500), delivery(2)]
    outcomes = make_sink(max_events=10, max_bytes=200).deliver(batch)
    assert [o.kind for o in outcomes] == [D, L, D]
    assert outcomes[1].reason is not None and "over max_bytes 200" in outcomes[1].reason
    assert outcomes[1].attempts == 0
    assert [request_json(entry)["order_id"] for entry in httpserver.log] == ["o-0", "o-2"]


def test_a_payload_that_is_not_json_is_dead_lettered_before_sending(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    outcomes = make_sink().deliver([delivery(0, value=float("nan")), delivery(1)])
    assert [o.kind for o in outcomes] == [L, D]
    assert outcomes[0].reason is not None and "not valid JSON" in outcomes[0].reason
    assert len(httpserver.log) == 1


def test_a_single_request_carries_the_delivery_idempotency_key(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    make_sink(idempotency_header="Idempotency-Key").deliver([delivery(1)])
    request, _ = httpserver.log[0]
    assert request.headers["Idempotency-Key"] == delivery(1).idempotency_key


def test_a_batch_key_is_a_stable_hash_of_its_delivery_keys(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    sink = make_sink(max_events=2, idempotency_header="Idempotency-Key")
    sink.deliver(deliveries(2))
    sink.deliver(deliveries(2))
    sink.deliver([delivery(0), delivery(7)])
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert keys[0] == keys[1] != keys[2]
    assert keys[0].startswith("batch-")


def test_the_idempotency_key_is_kept_in_the_dead_letter_detail(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    httpserver.expect_request("/events").respond_with_data("no", status=400)
    [outcome] = make_sink(idempotency_header="Idempotency-Key").deliver([delivery(1)])
    assert outcome.detail["request"]["headers"]["idempotency-key"] == delivery(1).idempotency_key


def test_a_bad_payload_inside_a_batch_is_isolated_and_the_rest_sent(
    httpserver: HTTPServer, make_sink: MakeSink
) -> None:
    accept_all(httpserver)
    batch = [delivery(0), delivery(1, value=float("inf")), delivery(2), delivery(3)]
    outcomes = make_sink(max_events=4).deliver(batch)
    assert [o.kind for o in outcomes] == [D, L, D, D]
    sent = [request_json(entry) for entry in httpserver.log]
    assert sent == [batch[0].payload, [batch[2].payload, batch[3].payload]]
