"""Validating and encoding one order_completed v2 event (two products).

*Validate* compares martech-bus's compiled validator with the generated pydantic
model (`OrderCompletedV2.model_validate` + `to_datum`, the obvious typed
alternative) on the JSON form of the event, and on an event already in datum
form. *Encode* compares fastavro's `schemaless_writer` on the parsed schema with
the writer generated for the schema (`avro_writer`: schema -> Python source,
compiled once; byte-identical, checked before timing), and our codec (Avro body +
Confluent wire header) with either body encoder.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from benchmarks.harness import measure, rate_rows, table

ROOT = Path(__file__).resolve().parent.parent
COUNT = 5_000


def _json_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (ROOT / "examples" / "events" / "order_completed.json").read_text()
    )
    return event


def run() -> str:
    import fastavro

    from martech_bus.events import model_for, to_datum
    from martech_bus.schema.avro_writer import generated_encoder
    from martech_bus.schema.codec import AvroCodec, fastavro_encoder
    from martech_bus.schema.registry import SchemaRegistry
    from martech_bus.schema.validate import validator_for

    registry = SchemaRegistry.load(ROOT / "schemas")
    entry = registry.get("order_completed", 2)
    validator = validator_for(entry)
    model = model_for("order_completed", 2)
    raw = _json_event()
    datum = validator.validate(raw)

    pydantic_json = measure(
        "pydantic model_validate + to_datum (JSON form)",
        lambda: to_datum(model.model_validate(raw)),
        count=COUNT,
    )
    ours_json = measure(
        "martech-bus validator (JSON form)", lambda: validator.validate(raw), count=COUNT
    )
    ours_datum = measure(
        "martech-bus validator (datum form)", lambda: validator.validate(datum), count=COUNT
    )

    codec = AvroCodec(registry)
    parsed = entry.parsed

    def fastavro_encode() -> bytes:
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, datum)
        return buffer.getvalue()

    class FastavroCodec(AvroCodec):
        make_encoder = staticmethod(fastavro_encoder)

    generated = generated_encoder(entry)
    fastavro_codec = FastavroCodec(registry)
    if generated(datum) != fastavro_encode():
        raise AssertionError("the generated writer's bytes differ from fastavro's")

    baseline_encode = measure("fastavro schemaless_writer", fastavro_encode, count=COUNT)
    generated_encode = measure(
        "generated writer (avro_writer, body)", lambda: generated(datum), count=COUNT
    )
    fastavro_codec_encode = measure(
        "martech-bus codec, fastavro encoder (wire format)",
        lambda: fastavro_codec.encode(datum, "order_completed", 2),
        count=COUNT,
    )
    ours_encode = measure(
        "martech-bus codec (wire format)",
        lambda: codec.encode(datum, "order_completed", 2),
        count=COUNT,
    )

    return (
        "Validate (baseline: the generated pydantic model):\n\n"
        + table(rate_rows([pydantic_json, ours_json, ours_datum], pydantic_json))
        + "\n\nEncode (baseline: fastavro's generic writer):\n\n"
        + table(
            rate_rows(
                [baseline_encode, generated_encode, fastavro_codec_encode, ours_encode],
                baseline_encode,
            )
        )
        + "\n"
    )
