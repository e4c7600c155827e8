"""Reader versions, topic names and decoding into the version the adapter's mapping reads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from martech_bus.adapter.loader import resolve_adapter
from martech_bus.connector import decoding
from martech_bus.connector.decoding import BusDecoder, reader_versions, topics_for
from martech_bus.errors import CodecError, ConfigError
from martech_bus.schema.codec import AvroCodec, encode_wire
from martech_bus.schema.registry import SchemaRegistry
from martech_bus.schema.validate import validate_event
from tests.connector.helpers import ROOT, order


@pytest.fixture
def frame(registry: SchemaRegistry) -> Any:
    codec = AvroCodec(registry)

    def make(version: int) -> bytes:
        entry, datum = validate_event(registry, order(7, version))
        return codec.encode(datum, entry.subject, entry.version)

    return make


def test_each_event_type_is_read_in_the_highest_version_its_pinned_mapping_accepts(
    registry: SchemaRegistry,
) -> None:
    adapter = resolve_adapter("meta_capi", ROOT / "adapters")
    assert adapter.mapping_for("order_completed").spec.versions == (1, 2)
    assert reader_versions(adapter, registry) == {
        "order_completed": 2,
        "checkout_started": 1,
        "product_added_to_cart": 1,
        "product_viewed": 1,
        "lead_captured": 1,
    }


def test_a_mapping_that_accepts_no_registered_version_is_a_config_error(
    registry: SchemaRegistry, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "adapters" / "meta_capi", tmp_path / "meta_capi")
    mapping = tmp_path / "meta_capi" / "mappings" / "order_completed.yaml"
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(text.replace("versions: [1, 2]", "versions: [9]"), encoding="utf-8")
    adapter = resolve_adapter("meta_capi", tmp_path)  # pinned to a version nobody wrote

    with pytest.raises(ConfigError, match=r"accepts versions \[9\], the registry holds \[1, 2\]"):
        reader_versions(adapter, registry)


@pytest.mark.parametrize(("writer", "reader"), [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_any_registered_writer_version_decodes_into_the_reader_version(
    registry: SchemaRegistry, frame: Any, writer: int, reader: int
) -> None:
    decoder = BusDecoder(registry, {"order_completed": reader})

    event, resolution = decoder.decode(frame(writer))

    assert resolution == ("order_completed", writer, reader)
    assert event["schema_version"] == reader  # the pipeline validates the shape it now has
    if reader == 1:
        assert "shipping_method" not in event["properties"]
    else:
        assert event["properties"]["shipping_method"] == (None if writer == 1 else "dhl-express")
    _, validated = validate_event(registry, event)  # what the pipeline does next
    assert validated["properties"]["order_id"] == "ORD-7"


def test_an_event_type_the_adapter_does_not_map_is_read_as_written(
    registry: SchemaRegistry, frame: Any
) -> None:
    _, resolution = BusDecoder(registry, {}).decode(frame(1))
    assert resolution == ("order_completed", 1, 1)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "no value"),
        (b"\x00\x01", "frame too short"),
        (b"\x05" + b"\x00" * 10, "wrong magic byte 0x05"),
        (encode_wire(424242, b"\x02"), "unknown schema id 424242"),
    ],
)
def test_what_is_not_a_registered_frame_is_a_codec_error(
    registry: SchemaRegistry, value: bytes | None, problem: str
) -> None:
    with pytest.raises(CodecError, match=problem):
        BusDecoder(registry, {"order_completed": 2}).decode(value)


def test_a_truncated_body_is_a_codec_error(registry: SchemaRegistry, frame: Any) -> None:
    whole = frame(2)
    with pytest.raises(CodecError, match="truncated or corrupt Avro body"):
        BusDecoder(registry, {"order_completed": 2}).decode(whole[: len(whole) // 2])


def test_topics_cover_every_version_of_every_mapped_event_type(
    registry: SchemaRegistry,
) -> None:
    adapter = resolve_adapter("meta_capi", ROOT / "adapters")
    seen: list[tuple[str, int]] = []

    def topic_of(entry: Any) -> str:
        seen.append((entry.subject, entry.version))
        return f"martech.{entry.subject}.v{entry.version}"  # as if every version were a major

    topics = topics_for(adapter, registry, prefix="staging.", topic_of=topic_of)

    assert ("order_completed", 2) in seen and ("order_completed", 1) in seen
    assert "staging.martech.order_completed.v1" in topics
    assert "staging.martech.order_completed.v2" in topics
    assert len(topics) == 6 and topics == sorted(topics)


def test_topic_names_follow_the_publishers_convention(registry: SchemaRegistry) -> None:
    from martech_bus.bus.topics import topic_for as published_topic

    for entry in registry.versions("order_completed"):
        assert decoding.topic_for(entry) == published_topic(entry)
