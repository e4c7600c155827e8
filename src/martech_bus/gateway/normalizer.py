"""Vendor payloads -> canonical events: split, route, map with the inbound mapping, fill, validate.

A buffered vendor payload becomes zero or more canonical events in JSON form
(decimals as strings, times as ISO-8601 text): the form ``POST /v1/events``
takes and the pipeline validates. Every step that can fail is per item, so one
bad item of a Segment batch never holds back the others, and nothing is
dropped: an item that cannot be normalized comes back as a ``Failure`` (the
drainer quarantines it with its reason) unless its source says ``unmapped: skip``
for payload types it does not route.

The mapping reads the item itself, plus ``_gateway``: ``source``, ``record_id``,
``item`` (its index), ``received_at`` and ``headers`` (those the kind keeps, e.g.
``x-shopify-topic``). What the mapping leaves out is filled in:

- ``event_type`` / ``schema_version``: the mapping's ``source.event`` and its
  highest ``source.versions`` (a value the mapping writes must agree with them);
- ``event_id``: a UUID derived from the record id and item index (stable across
  re-deliveries of the same buffered record);
- ``received_at``: when the gateway buffered the payload; ``source``: the source name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from martech_bus.errors import MappingError, ValidationError
from martech_bus.gateway.sources import HEADER_PREFIX, SEGMENT_SELECTORS, InboundSource
from martech_bus.gateway.transforms import stable_uuid

if TYPE_CHECKING:
    from martech_bus.buffer.base import BufferRecord
    from martech_bus.mapping.compiler import CompiledMapping
    from martech_bus.mapping.registry import TransformRegistry
    from martech_bus.schema.registry import SchemaRegistry

#: Key of the gateway's context in what an inbound mapping reads.
CONTEXT_KEY: Final = "_gateway"


@dataclass(frozen=True, slots=True)
class Failure:
    """An item (or, with ``item`` None, the whole payload) that did not become a valid event."""

    item: int | None
    reason: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Normalized:
    """What one payload became: ``(item, event)`` pairs, failures, and items skipped on purpose."""

    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def only(self, item: int | None) -> Normalized:
        """This result restricted to one item (``None``: all of them)."""
        if item is None:
            return self
        return Normalized(
            [pair for pair in self.events if pair[0] == item],
            [failure for failure in self.failures if failure.item in (item, None)],
            [pair for pair in self.skipped if pair[0] == item],
        )


class _Unrouted(NamedTuple):
    reason: str
    unmapped: bool = False  # a well-formed item of a type the source does not route


class NotJsonError(ValueError):
    """A payload that is not strict JSON."""


def _refuse_constant(name: str) -> Any:
    raise NotJsonError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Strict JSON with numbers that have a fraction read as ``Decimal`` (money stays exact)."""
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise NotJsonError("JSON nested too deeply") from None
    except NotJsonError:
        raise
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise NotJsonError(str(exc)) from None


def json_form(value: Any) -> Any:
    """``value`` with Decimals as exact text and datetimes as ISO-8601: plain JSON data."""
    if isinstance(value, dict):
        return {key: json_form(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_form(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso_millis(value.timestamp())
    return value


def iso_millis(epoch: float) -> str:
    """``2026-11-20T14:03:11.250Z`` for epoch seconds."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Normalizer:
    """Normalizes buffered vendor payloads of ``sources``, validating against ``registry``."""

    def __init__(
        self,
        sources: Mapping[str, InboundSource],
        registry: SchemaRegistry,
        *,
        transforms: TransformRegistry | None = None,
    ) -> None:
        self.sources = dict(sources)
        self.registry = registry
        self._transforms = transforms
        self._compiled: dict[tuple[str, str], CompiledMapping] = {}
        self._lock = threading.Lock()

    def normalize(self, record: BufferRecord) -> Normalized:
        """The canonical events of one buffered record (never raises for a bad payload)."""
        return self.normalize_payload(
            record.source,
            record.payload,
            record.meta,
            record_id=record.id,
            received_at=record.received_at,
        )

    def normalize_payload(
        self,
        source_name: str,
        payload: bytes,
        meta: Mapping[str, str],
        *,
        record_id: str,
        received_at: float,
    ) -> Normalized:
        """Like ``normalize``, from the parts of a record."""
        result = Normalized()
        source = self.sources.get(source_name)
        if source is None:
            known = ", ".join(sorted(self.sources)) or "none"
            result.failures.append(
                Failure(None, f"no inbound source {source_name!r} is declared (known: {known})")
            )
            return result
        try:
            data = loads(payload)
        except NotJsonError as exc:
            result.failures.append(Failure(None, f"the payload is not valid JSON: {exc}"))
            return result
        headers = {
            key.removeprefix(HEADER_PREFIX): value
            for key, value in meta.items()
            if key.startswith(HEADER_PREFIX)
        }
        context = {
            "source": source.name,
            "record_id": record_id,
            "received_at": iso_millis(received_at),
            "headers": headers,
        }
        for index, item in self._items(source, data, result):
            try:
                self._one(source, index, item, context, headers, result)
            except (
                Exception
            ) as exc:  # a bug must not lose the item: it is quarantined with the error
                result.failures.append(
                    Failure(index, f"normalizer error: {type(exc).__name__}: {exc}")
                )
        return result

    # -- steps --------------------------------------------------------------------------------

    def _items(self, source: InboundSource, data: Any, result: Normalized) -> list[tuple[int, Any]]:
        if source.kind == "signed_json" and isinstance(data, list):
            return list(enumerate(data))
        if not isinstance(data, dict):
            result.failures.append(
                Failure(None, f"a {source.kind} payload is a JSON object, got {_json_type(data)}")
            )
            return []
        batch = data.get("batch")
        if source.kind == "segment" and isinstance(batch, list):
            # Segment's batch API: top-level context applies to every item that lacks it.
            shared = data.get("context")
            items = []
            for item in batch:
                if isinstance(item, dict) and isinstance(shared, dict):
                    own = item.get("context")
                    item = {
                        **item,
                        "context": {**shared, **own} if isinstance(own, dict) else shared,
                    }
                items.append(item)
            return list(enumerate(items))
        return [(0, data)]

    def _one(
        self,
        source: InboundSource,
        index: int,
        item: Any,
        context: Mapping[str, Any],
        headers: Mapping[str, str],
        result: Normalized,
    ) -> None:
        if not isinstance(item, dict):
            result.failures.append(
                Failure(index, f"the item is {_json_type(item)}, not a JSON object")
            )
            return
        routed = self._route(source, item, headers)
        if isinstance(routed, _Unrouted):
            if routed.unmapped and source.unmapped == "skip":
                result.skipped.append((index, routed.reason))
            else:
                result.failures.append(Failure(index, routed.reason))
            return
        mapping = self._mapping(source, routed)
        try:
            output = mapping({**item, CONTEXT_KEY: {**context, "item": index}})
        except MappingError as exc:
            result.failures.append(Failure(index, f"inbound mapping {routed!r} failed: {exc}"))
            return
        spec = mapping.spec
        event = json_form(output)
        problem = _fill(event, spec.event, spec.versions, source.name, context, index)
        if problem is not None:
            result.failures.append(Failure(index, f"inbound mapping {routed!r}: {problem}"))
            return
        from martech_bus.schema.validate import validate_event

        try:
            validate_event(self.registry, event)
        except ValidationError as exc:
            problems = tuple(str(p) for p in exc.problems) or (exc.message,)
            result.failures.append(
                Failure(
                    index,
                    f"inbound mapping {routed!r} made an invalid event: {exc.message}",
                    problems,
                )
            )
            return
        result.events.append((index, event))

    def _route(
        self, source: InboundSource, item: Mapping[str, Any], headers: Mapping[str, str]
    ) -> str | _Unrouted:
        """The mapping's file stem, or why there is none."""
        selector: Any = None
        if source.kind == "shopify":
            payload_type: Any = headers.get("x-shopify-topic")
            if not payload_type:
                return _Unrouted("the X-Shopify-Topic header was not kept with the payload")
        else:
            payload_type = item.get("type")
            if not isinstance(payload_type, str) or not payload_type:
                return _Unrouted(f"the item has no 'type' (got {_json_type(payload_type)})")
            if source.kind == "segment" and payload_type in SEGMENT_SELECTORS:
                selector = item.get(SEGMENT_SELECTORS[payload_type])
        stem = source.mapping_name(payload_type, selector if isinstance(selector, str) else None)
        if stem is not None:
            return stem
        what = f"payload type {payload_type!r}"
        if selector is not None and not isinstance(source.routes.get(payload_type), str | None):
            what += f" with {SEGMENT_SELECTORS[payload_type]} {selector!r}"
        return _Unrouted(f"source {source.name!r} routes no {what} to a mapping", unmapped=True)

    def _mapping(self, source: InboundSource, stem: str) -> CompiledMapping:
        key = (source.name, stem)
        found = self._compiled.get(key)
        if found is None:
            from martech_bus.gateway.transforms import INBOUND
            from martech_bus.mapping.compiler import compile_mapping

            with self._lock:  # two drainer threads must not compile the same mapping twice
                found = self._compiled.get(key)
                if found is None:
                    found = compile_mapping(
                        source.specs[stem], registry=self._transforms or INBOUND
                    )
                    self._compiled[key] = found
        return found


def _fill(
    event: dict[str, Any],
    event_type: str,
    versions: tuple[int, ...],
    source: str,
    context: Mapping[str, Any],
    index: int,
) -> str | None:
    """Fill what the mapping left out; a problem when what it wrote disagrees with its spec."""
    written = event.get("event_type")
    if written is None:
        event["event_type"] = event_type
    elif written != event_type:
        return f"writes event_type {written!r} but declares source.event {event_type!r}"
    version = event.get("schema_version")
    if version is None:
        event["schema_version"] = max(versions)
    elif version not in versions:
        return f"writes schema_version {version!r} but declares versions {list(versions)}"
    if event.get("event_id") is None:
        event["event_id"] = stable_uuid(f"{context['record_id']}:{index}", f"{source}-record")
    if event.get("received_at") is None:
        event["received_at"] = context["received_at"]
    if event.get("source") is None:
        event["source"] = source
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a number"


__all__ = [
    "CONTEXT_KEY",
    "Failure",
    "Normalized",
    "Normalizer",
    "NotJsonError",
    "iso_millis",
    "json_form",
    "loads",
]
