"""The Avro binary codec and the Confluent wire format.

Wire format: byte 0 = 0x00 (magic), bytes 1-4 = schema id (big-endian uint32),
then the Avro binary body. ``AvroCodec`` encodes datum-form events (see
``martech_bus.schema.validate``) with the registry entry's cached parsed
schema, and decodes any registered writer version into any reader version of
the same subject (Avro schema resolution), returning datum form again.

Encoding uses a writer generated per schema (``martech_bus.schema.avro_writer``:
schema -> Python source, compiled once), byte-identical to fastavro's
``schemaless_writer`` and several times faster; a datum outside datum form is
handed to fastavro whole. ``fastavro_encoder`` stays available as the reference.
``validating_encoder`` fuses validation with that writer (``schema.fastpath``): an
event straight to its frame, without building the datum. Decoding is fastavro's.
fastavro and the generators load on first use, not with this module.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

from martech_bus.errors import CodecError, Location, UnknownSchemaError
from martech_bus.schema.avro import PRIMITIVES, full_name

if TYPE_CHECKING:
    from martech_bus.schema.registry import RegisteredSchema, SchemaRegistry

MAGIC_BYTE: Final = 0
HEADER_SIZE: Final = 5
MAX_SCHEMA_ID: Final = 2**32 - 1
_HEADER: Final = struct.Struct(">BI")

Buffer: TypeAlias = bytes | bytearray | memoryview
#: Encodes one datum-form record into an Avro body.
Encoder: TypeAlias = Callable[[Mapping[str, Any]], bytes]
#: Decodes one Avro body into datum form.
Decoder: TypeAlias = Callable[[Buffer], dict[str, Any]]
_Fix: TypeAlias = Callable[[Any], Any]
_In = TypeVar("_In")
_Out = TypeVar("_Out")


def encode_wire(schema_id: int, body: Buffer) -> bytes:
    """Frame an Avro body in the Confluent wire format."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise CodecError(f"an Avro body must be bytes, got {type(body).__name__}")
    return _header(schema_id) + body


def decode_wire(data: Buffer) -> tuple[int, memoryview]:
    """Split a Confluent frame into (schema id, Avro body); the body is not copied."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CodecError(f"expected bytes, got {type(data).__name__}")
    if len(data) < HEADER_SIZE:
        raise CodecError(
            f"frame too short: {len(data)} bytes, a Confluent frame has at least {HEADER_SIZE}"
        )
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise CodecError(
            f"wrong magic byte 0x{magic:02x} (expected 0x00): not Confluent wire format"
        )
    return schema_id, memoryview(data)[HEADER_SIZE:]


def _header(schema_id: int) -> bytes:
    if type(schema_id) is not int or not 0 <= schema_id <= MAX_SCHEMA_ID:
        raise CodecError(f"schema id {schema_id!r} is out of range (an unsigned 32-bit int)")
    return _HEADER.pack(MAGIC_BYTE, schema_id)


def fastavro_encoder(entry: RegisteredSchema) -> Encoder:
    """The body encoder of one schema: fastavro's ``schemaless_writer``."""
    from fastavro import schemaless_writer

    parsed = entry.parsed

    def encode(datum: Mapping[str, Any]) -> bytes:
        buffer = BytesIO()
        schemaless_writer(buffer, parsed, datum)
        return buffer.getvalue()

    return encode


def generated_encoder(entry: RegisteredSchema) -> Encoder:
    """The body encoder of one schema: generated Python, byte-identical to ``fastavro_encoder``.

    Datums outside datum form fall back to fastavro; what neither can write is a
    CodecError naming the field path (see ``martech_bus.schema.avro_writer``).
    """
    from martech_bus.schema.avro_writer import generated_encoder as build

    return build(entry)


def fastavro_decoder(writer: RegisteredSchema, reader: RegisteredSchema) -> Decoder:
    """The body decoder for data written with ``writer`` and read as ``reader``."""
    from fastavro import schemaless_reader

    writer_parsed = writer.parsed
    # The same schema needs no resolution (and fastavro would compare them per call).
    reader_parsed = None if reader.schema == writer.schema else reader.parsed
    fix = _datum_fixer(reader.schema)

    def decode(body: Buffer) -> dict[str, Any]:
        buffer = BytesIO(body)
        datum: dict[str, Any] = schemaless_reader(buffer, writer_parsed, reader_parsed)  # type: ignore[assignment]
        unread = len(body) - buffer.tell()
        if unread:
            raise ValueError(f"{unread} unread byte{'s' if unread > 1 else ''} after the record")
        if fix is not None:
            fix(datum)  # in place: the top level is a record
        return datum

    return decode


class AvroCodec:
    """Encode and decode events in Avro with the registry's schemas and ids."""

    #: Builds the body encoder of one schema (swappable; ``fastavro_encoder`` is the reference).
    make_encoder: Callable[[RegisteredSchema], Encoder] = staticmethod(generated_encoder)
    #: Builds the body decoder of one (writer, reader) pair.
    make_decoder: Callable[[RegisteredSchema, RegisteredSchema], Decoder] = staticmethod(
        fastavro_decoder
    )

    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry
        self._encoders: dict[tuple[str, int | None], tuple[RegisteredSchema, bytes, Encoder]] = {}
        self._decoders: dict[tuple[str, int, int | None], tuple[RegisteredSchema, Decoder]] = {}

    def encode(self, datum: Mapping[str, Any], subject: str, version: int | None = None) -> bytes:
        """A datum-form event as a Confluent frame (the entry's schema id + Avro body)."""
        entry, header, encoder = self._encoder(subject, version)
        return header + _run(encoder, datum, entry, _CANNOT_ENCODE)

    def encode_body(
        self, datum: Mapping[str, Any], subject: str, version: int | None = None
    ) -> bytes:
        """A datum-form event as an Avro body (no frame)."""
        entry, _, encoder = self._encoder(subject, version)
        return _run(encoder, datum, entry, _CANNOT_ENCODE)

    def validating_encoder(
        self, entry: RegisteredSchema, exports: tuple[str, ...] = ()
    ) -> Callable[[dict[str, Any]], tuple[Any, ...] | None] | None:
        """Validation and ``encode`` in one generated function (``schema.fastpath``).

        It takes an event as ``validate_event`` passes it on (JSON or datum form,
        ``received_at`` and ``schema_version`` filled) and returns ``(frame,
        *exports' datum values)`` -- the frame ``encode(validate(event))`` makes --
        or None when it is not sure (an invalid event, a rare form, a value the
        writer leaves to fastavro): run those through validation and ``encode``.
        None instead of a function when ``make_encoder`` is not the generated writer.
        """
        if self.make_encoder is not generated_encoder:
            return None
        from martech_bus.schema.validate import validator_for

        # This codec's own entry and frame, as ``encode`` would use them.
        own, header, _ = self._encoder(entry.subject, entry.version)
        compiled = validator_for(own).fused_encoder(exports)
        encoder: Callable[[dict[str, Any]], tuple[Any, ...] | None] = compiled.bind(header)
        return encoder

    def decode(
        self, data: Buffer, *, reader_version: int | None = None
    ) -> tuple[RegisteredSchema, dict[str, Any]]:
        """A Confluent frame as (reader entry, datum); the reader defaults to the writer version.

        Resolution changes the shape only: the datum's ``schema_version`` still says
        which version the producer wrote.
        """
        schema_id, body = decode_wire(data)
        try:
            writer = self.registry.by_id(schema_id)
        except UnknownSchemaError:
            raise CodecError(
                f"unknown schema id {schema_id}: the registry has no such schema "
                "(written against another registry, or not synced?)"
            ) from None
        reader, decoder = self._decoder(writer, reader_version)
        return reader, _run(decoder, body, writer, _CANNOT_DECODE)

    def decode_body(
        self,
        body: Buffer,
        subject: str,
        version: int | None = None,
        *,
        reader_version: int | None = None,
    ) -> dict[str, Any]:
        """An Avro body written with ``subject`` ``version`` (default latest), as datum form."""
        writer = self.registry.get(subject, version)
        _, decoder = self._decoder(writer, reader_version)
        return _run(decoder, body, writer, _CANNOT_DECODE)

    def _encoder(
        self, subject: str, version: int | None
    ) -> tuple[RegisteredSchema, bytes, Encoder]:
        cached = self._encoders.get((subject, version))
        if cached is None:
            entry = self.registry.get(subject, version)
            cached = (entry, _header(entry.schema_id), self.make_encoder(entry))
            self._encoders[(subject, version)] = cached
        return cached

    def _decoder(
        self, writer: RegisteredSchema, reader_version: int | None
    ) -> tuple[RegisteredSchema, Decoder]:
        key = (writer.subject, writer.version, reader_version)
        cached = self._decoders.get(key)
        if cached is None:
            reader = writer
            if reader_version is not None and reader_version != writer.version:
                reader = self.registry.get(writer.subject, reader_version)
            cached = (reader, self.make_decoder(writer, reader))
            self._decoders[key] = cached
        return cached


_CANNOT_ENCODE: Final = "cannot encode"
_CANNOT_DECODE: Final = "truncated or corrupt Avro body"


def _run(step: Callable[[_In], _Out], value: _In, entry: RegisteredSchema, problem: str) -> _Out:
    """Run an encoder or decoder, turning whatever fastavro raises into a CodecError."""
    try:
        return step(value)
    except CodecError:
        raise
    except Exception as exc:  # fastavro raises EOFError, IndexError, ValueError, TypeError, ...
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise CodecError(
            f"{problem} (schema id {entry.schema_id}): {detail}",
            location=Location(schema=entry.subject, version=entry.version),
        ) from exc


# -- decoded values back to datum form ---------------------------------------------------------
# fastavro returns uuid.UUID for the uuid logical type; datum form is its string. A fixer is
# compiled per reader schema and only visits the parts of a datum that can hold a uuid.


def _datum_fixer(schema: Any) -> _Fix | None:
    return _Fixers().build(schema, None)


def _uuid_to_str(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


class _Fixers:
    def __init__(self) -> None:
        self.named: dict[str, _Fix | None] = {}

    def build(self, schema: Any, namespace: str | None) -> _Fix | None:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return None
            return self.named.get(full_name(schema, namespace), self.named.get(schema))
        if isinstance(schema, list):
            return _each_branch([self.build(branch, namespace) for branch in schema])
        kind = schema["type"]
        if kind == "record" or kind == "error":
            return self.record(schema, namespace)
        if kind == "array":
            return _each_item(self.build(schema["items"], namespace))
        if kind == "map":
            return _each_value(self.build(schema["values"], namespace))
        if schema.get("logicalType") == "uuid":
            return _uuid_to_str
        if kind in ("enum", "fixed"):
            return None
        return self.build(kind, namespace)

    def record(self, schema: Mapping[str, Any], namespace: str | None) -> _Fix | None:
        qualified = full_name(schema["name"], schema.get("namespace", namespace))
        inner = qualified.rpartition(".")[0] or None
        # A recursive reference gets a lazy fixer that looks up the finished one.
        self.named[qualified] = lambda value: (self.named[qualified] or _same)(value)
        fields = [(f["name"], self.build(f["type"], inner)) for f in schema["fields"]]
        fixes = [(name, fix) for name, fix in fields if fix]
        self.named[qualified] = _each_field(fixes) if fixes else None
        return self.named[qualified]


def _same(value: Any) -> Any:
    return value


def _each_field(fixes: list[tuple[str, _Fix]]) -> _Fix:
    def fix(value: Any) -> Any:
        if isinstance(value, dict):  # fastavro's fresh dict: fixed in place
            for name, field_fix in fixes:
                if name in value:
                    value[name] = field_fix(value[name])
        return value

    return fix


def _each_branch(fixes: list[_Fix | None]) -> _Fix | None:
    # Every fixer checks the type it handles, so a union applies all of its branches' fixers.
    present = [fix for fix in fixes if fix]
    if len(present) <= 1:
        return present[0] if present else None

    def fix(value: Any) -> Any:
        for branch_fix in present:
            value = branch_fix(value)
        return value

    return fix


def _each_item(item_fix: _Fix | None) -> _Fix | None:
    if item_fix is None:
        return None
    return lambda value: [item_fix(v) for v in value] if isinstance(value, list) else value


def _each_value(value_fix: _Fix | None) -> _Fix | None:
    if value_fix is None:
        return None
    return lambda value: (
        {k: value_fix(v) for k, v in value.items()} if isinstance(value, dict) else value
    )


__all__ = [
    "HEADER_SIZE",
    "MAGIC_BYTE",
    "MAX_SCHEMA_ID",
    "AvroCodec",
    "Decoder",
    "Encoder",
    "decode_wire",
    "encode_wire",
    "fastavro_decoder",
    "fastavro_encoder",
    "generated_encoder",
]
