"""The Confluent wire format and AvroCodec: round trips, schema resolution, and every CodecError."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

from martech_bus.errors import CodecError, UnknownSchemaError
from martech_bus.schema.avro import fingerprints
from martech_bus.schema.codec import (
    AvroCodec,
    decode_wire,
    encode_wire,
    fastavro_decoder,
    fastavro_encoder,
)
from martech_bus.schema.registry import RegisteredSchema
from martech_bus.schema.validate import validator_for
from tests.schema.events import EVENT_ID, catalogue, order_completed_json, sample_event


def codec() -> AvroCodec:
    return AvroCodec(catalogue())


def order(version: int = 2) -> dict[str, Any]:
    """A validated order_completed event in datum form for ``version``."""
    event = order_completed_json(schema_version=version)
    if version == 1:
        del event["properties"]["shipping_method"]
    return validator_for(catalogue().get("order_completed", version)).validate(event)


# -- wire format -------------------------------------------------------------------------------


def test_the_wire_frame_is_magic_byte_big_endian_id_then_body() -> None:
    assert encode_wire(0x01020304, b"body") == b"\x00\x01\x02\x03\x04body"


def test_a_wire_frame_round_trips() -> None:
    schema_id, body = decode_wire(encode_wire(4_000_000_000, b"\x02\x04"))

    assert (schema_id, bytes(body)) == (4_000_000_000, b"\x02\x04")


def test_decode_wire_returns_a_view_of_the_body_without_copying() -> None:
    frame = bytearray(encode_wire(1, b"abc"))
    _, body = decode_wire(frame)
    frame[-1:] = b"z"

    assert isinstance(body, memoryview)
    assert bytes(body) == b"abz"


def test_an_empty_body_is_a_valid_frame() -> None:
    assert decode_wire(b"\x00\x00\x00\x00\x07")[0] == 7


@pytest.mark.parametrize("size", range(5))
def test_a_frame_shorter_than_the_header_is_a_codec_error(size: int) -> None:
    with pytest.raises(CodecError, match=f"frame too short: {size} bytes"):
        decode_wire(b"\x00\x00\x00\x00"[:size])


def test_a_wrong_magic_byte_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match=r"wrong magic byte 0x7b \(expected 0x00\)"):
        decode_wire(b'{"event_id": 1}')


@pytest.mark.parametrize("schema_id", [-1, 2**32, True, "7"])
def test_a_schema_id_out_of_range_is_a_codec_error(schema_id: Any) -> None:
    with pytest.raises(CodecError, match="out of range"):
        encode_wire(schema_id, b"")


def test_decode_wire_rejects_text() -> None:
    with pytest.raises(CodecError, match="expected bytes, got str"):
        decode_wire("\x00\x00\x00\x00\x01")  # type: ignore[arg-type]


# -- round trips -------------------------------------------------------------------------------


def test_an_order_round_trips_in_datum_form() -> None:
    datum = order()
    entry, decoded = codec().decode(codec().encode(datum, "order_completed"))

    assert (entry.subject, entry.version) == ("order_completed", 2)
    assert decoded == datum
    assert decoded["event_id"] == EVENT_ID and type(decoded["event_id"]) is str
    assert str(decoded["properties"]["total"]) == "59.9700"


def test_the_frame_carries_the_entry_schema_id() -> None:
    frame = codec().encode(order(1), "order_completed", 1)

    assert decode_wire(frame)[0] == catalogue().get("order_completed", 1).schema_id


@pytest.mark.parametrize("entry", list(catalogue()), ids=lambda e: f"{e.subject}-v{e.version}")
def test_every_catalogue_schema_round_trips(entry: RegisteredSchema) -> None:
    datum = sample_event(entry)
    frame = codec().encode(datum, entry.subject, entry.version)

    assert codec().decode(frame) == (entry, datum)


def test_encode_body_and_decode_body_skip_the_frame() -> None:
    body = codec().encode_body(order(), "order_completed")

    assert codec().encode(order(), "order_completed")[5:] == body
    assert codec().decode_body(body, "order_completed", 2) == order()


# -- schema resolution -------------------------------------------------------------------------


def test_v1_bytes_read_as_v2_fill_shipping_method_with_none() -> None:
    entry, decoded = codec().decode(
        codec().encode(order(1), "order_completed", 1), reader_version=2
    )

    assert entry.version == 2
    assert decoded["properties"]["shipping_method"] is None
    assert {**decoded, "properties": {**decoded["properties"]}} == {
        **order(1),
        "properties": {**order(1)["properties"], "shipping_method": None},
    }


def test_v2_bytes_read_as_v1_drop_shipping_method() -> None:
    entry, decoded = codec().decode(
        codec().encode(order(2), "order_completed", 2), reader_version=1
    )

    assert entry.version == 1
    assert "shipping_method" not in decoded["properties"]
    assert decoded["properties"]["products"] == order(2)["properties"]["products"]


def test_decode_body_resolves_into_the_reader_version() -> None:
    body = codec().encode_body(order(2), "order_completed", 2)

    assert (
        "shipping_method"
        not in codec().decode_body(body, "order_completed", 2, reader_version=1)["properties"]
    )


def test_an_unknown_reader_version_is_an_unknown_schema_error() -> None:
    with pytest.raises(UnknownSchemaError, match="unknown version 9"):
        codec().decode(codec().encode(order(), "order_completed"), reader_version=9)


# -- errors ------------------------------------------------------------------------------------


def test_an_unknown_schema_id_is_a_codec_error_naming_it() -> None:
    with pytest.raises(CodecError, match="unknown schema id 424242"):
        codec().decode(encode_wire(424242, b""))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_a_truncated_body_is_a_codec_error(keep: float) -> None:
    frame = codec().encode(order(), "order_completed")

    with pytest.raises(CodecError, match="truncated or corrupt Avro body") as caught:
        codec().decode(frame[: 5 + int((len(frame) - 5) * keep)])
    assert caught.value.location.schema == "order_completed"
    assert caught.value.location.version == 2


def test_a_corrupt_body_is_a_codec_error() -> None:
    frame = codec().encode(order(), "order_completed")

    with pytest.raises(CodecError, match="truncated or corrupt Avro body"):
        codec().decode(frame[:5] + b"\xff" * (len(frame) - 5))


def test_trailing_bytes_after_the_record_are_a_codec_error() -> None:
    frame = codec().encode(order(), "order_completed")

    with pytest.raises(CodecError, match="2 unread bytes after the record"):
        codec().decode(frame + b"\x00\x00")


def test_encoding_a_datum_that_does_not_fit_the_schema_is_a_codec_error() -> None:
    datum = {**order(), "properties": {**order()["properties"], "total": "a lot"}}

    with pytest.raises(CodecError, match="cannot encode") as caught:
        codec().encode(datum, "order_completed")
    assert caught.value.location.version == 2


# -- laziness and extension --------------------------------------------------------------------


def test_importing_the_codec_does_not_import_fastavro() -> None:
    probe = (
        "import sys, json, martech_bus.schema.codec; print(json.dumps('fastavro' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert json.loads(done.stdout) is False


def test_the_body_encoder_is_swappable() -> None:
    calls: list[str] = []

    def counting_encoder(entry: RegisteredSchema) -> Any:
        encode = fastavro_encoder(entry)
        calls.append(entry.subject)

        def wrapped(datum: Mapping[str, Any]) -> bytes:
            return encode(datum)

        return wrapped

    class CountingCodec(AvroCodec):
        make_encoder = staticmethod(counting_encoder)

    frame = CountingCodec(catalogue()).encode(order(), "order_completed")

    assert calls == ["order_completed"]
    assert frame == codec().encode(order(), "order_completed")


def test_uuids_anywhere_in_the_schema_decode_as_strings() -> None:
    uid = {"type": "string", "logicalType": "uuid"}
    inner = {"type": "record", "name": "Inner", "fields": [{"name": "id", "type": uid}]}
    schema = {
        "type": "record",
        "name": "Outer",
        "fields": [
            {"name": "ids", "type": {"type": "array", "items": uid}},
            {"name": "by_key", "type": {"type": "map", "values": ["null", uid]}},
            {"name": "inner", "type": ["null", inner]},
            {"name": "again", "type": "Inner"},
        ],
    }
    entry = RegisteredSchema("t", 1, 1, schema, fingerprints(schema))
    datum = {
        "ids": [EVENT_ID],
        "by_key": {"a": EVENT_ID, "b": None},
        "inner": {"id": EVENT_ID},
        "again": {"id": EVENT_ID},
    }

    assert fastavro_decoder(entry, entry)(fastavro_encoder(entry)(datum)) == datum
