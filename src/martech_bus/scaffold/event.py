"""``martech-bus new event``: a canonical schema ``v1`` with the envelope, listed in registry.yaml.

``--property order_id:string --property coupon:string?`` adds the event's own
fields (``?`` makes one optional, with a null default). Types: ``string``, ``int``,
``long``, ``double``, ``boolean``, ``decimal`` (money: precision 18, scale 4),
``currency`` (an ISO 4217 code), ``timestamp`` (UTC millis) and ``uuid``.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from martech_bus.errors import ConfigError, MartechBusError, Problem
from martech_bus.scaffold.adapter import IDENTIFIER, Scaffolded

PROPERTY_TYPES: Final[Mapping[str, Any]] = {
    "string": "string",
    "int": "int",
    "long": "long",
    "double": "double",
    "boolean": "boolean",
    "decimal": {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 4},
    "timestamp": {"type": "long", "logicalType": "timestamp-millis"},
    "uuid": {"type": "string", "logicalType": "uuid"},
    "currency": "string",
}
_PROPERTY: Final = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*):(?P<type>[a-z]+)(?P<optional>\??)")


def record_name(event: str) -> str:
    """``order_completed`` -> ``OrderCompleted``."""
    return "".join(part.capitalize() for part in event.split("_"))


def property_field(spec: str) -> dict[str, Any]:
    """``coupon:string?`` -> an Avro field; ConfigError naming the accepted forms."""
    match = _PROPERTY.fullmatch(spec.strip())
    if match is None or match["type"] not in PROPERTY_TYPES:
        raise ConfigError(
            f"--property {spec!r}: write NAME:TYPE (NAME:TYPE? when optional), TYPE one of "
            + ", ".join(PROPERTY_TYPES)
        )
    kind = PROPERTY_TYPES[match["type"]]
    field: dict[str, Any] = {"name": match["name"]}
    if match["optional"]:
        field.update(type=["null", kind], default=None)
    else:
        field["type"] = kind
    if match["type"] == "currency":
        field["format"] = "iso4217"
    return field


def event_schema(event: str, description: str, properties: Sequence[str]) -> dict[str, Any]:
    """The v1 schema: the envelope every event embeds, then the event's own ``properties``."""
    from martech_bus.schema.envelope import NAMESPACE, envelope_fields

    name = record_name(event)
    own = [property_field(spec) for spec in properties]
    return {
        "type": "record",
        "name": name,
        "namespace": NAMESPACE,
        "doc": description,
        "fields": [
            *envelope_fields(),
            {
                "name": "properties",
                "type": {
                    "type": "record",
                    "name": f"{name}Properties",
                    "namespace": NAMESPACE,
                    "fields": own,
                },
                "doc": "The event's own fields.",
            },
        ],
    }


def scaffold_event(
    event: str,
    schemas_dir: Path,
    *,
    description: str | None = None,
    owner: str | None = None,
    compatibility: str | None = None,
    properties: Sequence[str] = (),
) -> Scaffolded:
    """Write ``schemas_dir/<event>/v1.avsc`` and list it in registry.yaml; undone on any problem."""
    from martech_bus.schema.modes import CompatibilityMode
    from martech_bus.schema.registry import REGISTRY_FILE, SchemaRegistry

    index = schemas_dir / REGISTRY_FILE
    problems: list[Problem] = []
    if not IDENTIFIER.fullmatch(event):
        problems.append(
            Problem(
                f"NAME must be lower_case letters, digits and _ (e.g. order_refunded), got {event!r}"
            )
        )
    if not index.is_file():
        problems.append(Problem(f"no {index}: pass --schemas, or run from the repository root"))
    elif (schemas_dir / event).exists() or _listed(index, event):
        problems.append(
            Problem(f"event {event!r} already exists in {schemas_dir}; add a version instead")
        )
    mode = None
    if compatibility is not None:
        try:
            mode = CompatibilityMode.parse(compatibility).value
        except MartechBusError as exc:
            problems.append(Problem(exc.message))
    text = description or f"TODO: what happened, in one line ({event})."
    try:
        schema = event_schema(event, text, properties)
    except ConfigError as exc:
        problems.append(Problem(exc.message))
    if problems:
        raise ConfigError(f"cannot scaffold event {event!r}", problems=problems)
    before = index.read_text(encoding="utf-8")
    folder = schemas_dir / event
    try:
        folder.mkdir()
        (folder / "v1.avsc").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        index.write_text(_with_subject(before, event, text, owner, mode), encoding="utf-8")
        SchemaRegistry.load(schemas_dir)  # the catalogue must still load, or nothing changes
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        index.write_text(before, encoding="utf-8")
        raise
    return Scaffolded(folder, ("v1.avsc", f"../{REGISTRY_FILE}"))


def _listed(index: Path, event: str) -> bool:
    return (
        re.search(rf"(?m)^\s+{re.escape(event)}\s*:", index.read_text(encoding="utf-8")) is not None
    )


def _with_subject(
    text: str, event: str, description: str, owner: str | None, mode: str | None
) -> str:
    """registry.yaml with an entry for ``event`` at the end of ``subjects:``, comments kept."""
    entry = [f"  {event}:", f"    description: {json.dumps(description, ensure_ascii=False)}"]
    if owner:
        entry.append(f"    owner: {json.dumps(owner, ensure_ascii=False)}")
    if mode:
        entry.append(f"    compatibility: {mode}")
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if re.match(r"subjects\s*:", line)), None)
    if start is None:
        raise ConfigError("registry.yaml has no top-level 'subjects:' to add the event to")
    end = start + 1
    # the block runs to the next top-level key; trailing blank lines and comments stay after it
    for n in range(start + 1, len(lines)):
        line = lines[n]
        if line and not line[0].isspace() and not line.startswith("#"):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            end = n + 1
    return "\n".join([*lines[:end], *entry, *lines[end:]]) + "\n"


__all__ = ["PROPERTY_TYPES", "event_schema", "property_field", "record_name", "scaffold_event"]
