"""Contract checks on an adapter, shared by ``martech-bus mapping test/check``, the pytest plugin
and ``martech-bus contract-test``: each fixture renders to its expected body, every body
satisfies the vendor payload schema, and every mapping is statically valid.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from martech_bus.errors import MartechBusError, Problem

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter, Fixture
    from martech_bus.schema.registry import SchemaRegistry


@dataclass(frozen=True, slots=True)
class FixtureResult:
    """One fixture's verdict: ``ok``, or what differs and what is wrong."""

    adapter: str
    case: str
    ok: bool
    diff: str | None = None
    problems: tuple[str, ...] = ()


def json_diff(
    expected: Any, actual: Any, *, expected_name: str = "expected", actual_name: str = "rendered"
) -> str:
    """A unified diff of two JSON values, pretty-printed with sorted keys."""

    def lines(value: Any) -> list[str]:
        return json.dumps(
            value, indent=2, sort_keys=True, ensure_ascii=False, default=str
        ).splitlines()

    return "\n".join(
        difflib.unified_diff(
            lines(expected), lines(actual), expected_name, actual_name, lineterm=""
        )
    )


def run_fixture(adapter: Adapter, fixture: Fixture, registry: SchemaRegistry) -> FixtureResult:
    """Validate the input, render it, compare with the expected body, check the payload schema."""
    from martech_bus.schema.validate import validate_event

    try:
        _, datum = validate_event(registry, fixture.load_input())
        rendered = adapter.render(datum)
        expected = fixture.load_expected()
    except MartechBusError as exc:
        problems = tuple(str(p) for p in exc.problems) or (str(exc),)
        return FixtureResult(adapter.name, fixture.name, False, problems=problems)
    problems = tuple(f"payload schema: {message}" for message in adapter.check_payload(rendered))
    if rendered != expected:
        diff = json_diff(
            expected, rendered, expected_name=str(fixture.expected), actual_name="rendered"
        )
        return FixtureResult(adapter.name, fixture.name, False, diff, problems)
    return FixtureResult(adapter.name, fixture.name, not problems, problems=problems)


def run_fixtures(adapter: Adapter, registry: SchemaRegistry) -> list[FixtureResult]:
    """Every fixture of ``adapter``, by name."""
    return [run_fixture(adapter, fixture, registry) for fixture in adapter.fixtures()]


def check_adapter(adapter: Adapter, registry: SchemaRegistry) -> list[Problem]:
    """Static problems in every mapping of ``adapter`` (warnings included; see ``is_warning``):
    paths and transform types against every accepted schema version, and the vendor
    payload's required fields, where the envelope says which part of it one event becomes.
    """
    from martech_bus.mapping.checker import check_mapping, check_required_fields

    pointer = item_pointer(adapter)
    problems: list[Problem] = []
    for spec in adapter.specs.values():
        problems.extend(check_mapping(spec, registry))
        if adapter.payload_schema is not None and pointer is not None:
            problems.extend(
                check_required_fields(spec, adapter.payload_schema, item_pointer=pointer)
            )
    return problems


def item_pointer(adapter: Adapter) -> str | None:
    """The JSON pointer, in the payload schema, to what one mapped event becomes.

    No envelope: the whole body (``""``). An envelope field that is the item list
    (``data: {path: items}``) or the single item (``data: {path: 'items[0]'}``):
    that field's items or the field. Anything else (fields spread from the first
    item, as GA4 does) cannot be told statically: None.
    """
    from martech_bus.mapping.spec import PathValue

    envelope = adapter.manifest.batch.envelope
    if envelope is None:
        return ""
    for name, value in envelope.output.fields:
        if isinstance(value, PathValue) and value.path.text in ("items", "items[0]"):
            field = "/properties/" + name.replace("~", "~0").replace("/", "~1")
            return field + "/items" if value.path.text == "items" else field
    return None
