"""The normalizer: per-item results, failures with reasons (for quarantine), stable event ids."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from martech_bus.buffer.base import BufferRecord
from martech_bus.gateway.normalizer import Normalizer
from martech_bus.gateway.sources import InboundSource
from martech_bus.schema.registry import SchemaRegistry
from tests.gateway.helpers import SOURCES, write_webshop

TRACK: dict[str, Any] = json.loads(
    (SOURCES / "segment" / "fixtures" / "track_order_completed.input.json").read_text()
)
SHOPIFY_ORDER = (SOURCES / "shopify" / "fixtures" / "orders_create.input.json").read_bytes()


def _record(
    payload: Any, source: str = "segment", record_id: str = "r-1", **meta: str
) -> BufferRecord:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return BufferRecord(record_id, source, raw, meta, 1_795_183_392.0)


def test_one_bad_item_of_a_batch_does_not_hold_back_the_others(normalizer: Normalizer) -> None:
    broken = {**TRACK, "properties": {**TRACK["properties"], "currency": None}}
    batch = {"batch": [TRACK, broken, {**TRACK, "messageId": "m-3"}]}

    result = normalizer.normalize(_record(batch))

    assert [index for index, _ in result.events] == [0, 2]
    [failure] = result.failures
    assert failure.item == 1
    assert "invalid event" in failure.reason
    assert any("properties.currency" in problem for problem in failure.problems)


def test_an_unrouted_message_type_is_a_failure_to_quarantine(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record({"type": "group", "groupId": "g-1", "messageId": "m"}))

    [failure] = result.failures
    assert failure.item == 0
    assert "routes no payload type 'group'" in failure.reason


def test_an_unrouted_track_event_names_the_event(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record({**TRACK, "event": "Button Clicked"}))

    assert "with event 'Button Clicked'" in result.failures[0].reason


def test_a_source_that_skips_unmapped_types_skips_them_instead(
    sources: dict[str, InboundSource], registry: SchemaRegistry
) -> None:
    skipping = {"segment": dataclasses.replace(sources["segment"], unmapped="skip")}

    result = Normalizer(skipping, registry).normalize(_record({"type": "alias", "previousId": "x"}))

    assert result.failures == []
    assert result.skipped and result.skipped[0][0] == 0


def test_a_payload_that_is_not_json_fails_whole(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record(b"<xml/>"))

    [failure] = result.failures
    assert failure.item is None
    assert "not valid JSON" in failure.reason


def test_a_record_of_a_source_no_longer_declared_fails_whole(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record(TRACK, source="mailchimp"))

    assert result.failures[0].item is None
    assert "no inbound source 'mailchimp'" in result.failures[0].reason


def test_a_shopify_payload_without_its_topic_cannot_be_routed(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record(SHOPIFY_ORDER, source="shopify"))

    assert "X-Shopify-Topic" in result.failures[0].reason


def test_a_shopify_topic_without_a_route_is_named(normalizer: Normalizer) -> None:
    result = normalizer.normalize(
        _record(SHOPIFY_ORDER, source="shopify", **{"header.x-shopify-topic": "orders/paid"})
    )

    assert "'orders/paid'" in result.failures[0].reason


def test_the_same_vendor_message_id_always_makes_the_same_event_id(normalizer: Normalizer) -> None:
    first = normalizer.normalize(_record(TRACK, record_id="r-1")).events[0][1]
    again = normalizer.normalize(_record(TRACK, record_id="r-2")).events[0][1]

    assert first["event_id"] == again["event_id"]  # a vendor's retry dedupes downstream


def test_without_a_vendor_id_the_event_id_comes_from_the_record_and_item(
    normalizer: Normalizer,
) -> None:
    anonymous = {key: value for key, value in TRACK.items() if key != "messageId"}

    first = normalizer.normalize(_record(anonymous, record_id="r-1")).events[0][1]
    same = normalizer.normalize(_record(anonymous, record_id="r-1")).events[0][1]
    other = normalizer.normalize(_record(anonymous, record_id="r-2")).events[0][1]

    assert first["event_id"] == same["event_id"] != other["event_id"]


def test_received_at_is_when_the_gateway_buffered_the_payload(normalizer: Normalizer) -> None:
    event = normalizer.normalize(_record(TRACK)).events[0][1]

    assert event["received_at"] == "2026-11-20T14:03:12.000Z"


def test_a_mapping_that_writes_another_event_type_than_it_declares_fails(
    sources: dict[str, InboundSource], registry: SchemaRegistry
) -> None:
    from martech_bus.gateway.transforms import INBOUND
    from martech_bus.mapping.parser import parse_mapping

    text = (SOURCES / "segment" / "mappings" / "page_viewed.yaml").read_text()
    wrong = parse_mapping(
        text.replace("event_type: page_viewed", "event_type: product_viewed"), registry=INBOUND
    )
    segment = sources["segment"]
    patched = dataclasses.replace(segment, specs={**segment.specs, "page_viewed": wrong})
    page = json.loads((SOURCES / "segment" / "fixtures" / "page.input.json").read_text())

    result = Normalizer({"segment": patched}, registry).normalize(_record(page))

    assert "declares source.event 'page_viewed'" in result.failures[0].reason


def test_a_mapping_error_is_a_failure_with_the_mapping_named(normalizer: Normalizer) -> None:
    result = normalizer.normalize(
        _record({**TRACK, "timestamp": "yesterday", "originalTimestamp": None})
    )

    assert "inbound mapping 'order_completed' failed" in result.failures[0].reason
    assert "iso8601" in result.failures[0].reason


def test_a_batch_item_that_is_not_an_object_fails_alone(normalizer: Normalizer) -> None:
    result = normalizer.normalize(_record({"batch": [TRACK, "oops"]}))

    assert len(result.events) == 1
    assert result.failures[0].item == 1


def test_a_signed_json_array_is_split_into_items_routed_by_type(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    from martech_bus.gateway.sources import load_source

    webshop = load_source(write_webshop(tmp_path))
    views = [
        {
            "type": "page.view",
            "id": n,
            "at": "2026-11-20T10:00:00Z",
            "visitor": "v-1",
            "page": f"/p/{n}",
        }
        for n in (1, 2)
    ]

    result = Normalizer({"webshop": webshop}, registry).normalize(
        _record([*views, {"type": "cart.view"}], source="webshop")
    )

    assert [event["properties"]["url"] for _, event in result.events] == [
        "https://shop.example/p/1",
        "https://shop.example/p/2",
    ]
    assert result.failures[0].item == 2
