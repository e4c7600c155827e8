"""``martech-bus new adapter``: an adapter folder that passes the contract checks at once.

The folder holds a complete manifest (owner, cadence, expiry, plan, runbook,
consent, governance), a mapping template for one canonical event written from
its schema, a full and a minimal fixture with the bodies the template renders,
a payload-schema stub inferred from those bodies, and ``handler.py``. Everything
marked ``TODO`` is for the integrator to replace with what the vendor's API wants;
the contract checks keep the pieces consistent while they do.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from martech_bus.errors import ConfigError, Problem

if TYPE_CHECKING:
    from martech_bus.schema.registry import SchemaRegistry

IDENTIFIER: Final = re.compile(r"[a-z][a-z0-9_]*")
LINK: Final = re.compile(r"https?://[^\s/]+\S*")
#: Decision-matrix scores a scaffold starts from, one total per cadence (docs/governance.md).
STARTING_SCORES: Final[Mapping[str, tuple[int, int, int, int]]] = {
    "sprint": (1, 1, 1, 1),
    "hybrid": (2, 2, 1, 1),
    "marathon": (3, 2, 2, 2),
}
#: PII the template hashes (REFERENCE.md's rules); other tagged fields are left out.
_HASHED: Final[Mapping[str, str]] = {"email": "email", "phone": "phone"}


@dataclass(frozen=True, slots=True)
class AdapterPlan:
    """What ``new adapter`` was asked for (flags or answers to prompts)."""

    vendor: str
    event: str
    owner: str
    contact: str
    cadence: str
    runbook: str
    expires_on: date | None = None
    migration_plan: str | None = None
    display_name: str | None = None
    endpoint: str | None = None
    consent: tuple[str, ...] = ("marketing",)

    @property
    def title(self) -> str:
        return self.display_name or self.vendor.replace("_", " ").title()

    @property
    def url(self) -> str:
        return self.endpoint or f"https://api.{self.vendor.replace('_', '-')}.example/v1/events"

    def problems(self, today: date) -> list[Problem]:
        """Everything wrong with the plan, all at once."""
        from martech_bus.adapter.manifest import CADENCES

        found: list[str] = []
        if not IDENTIFIER.fullmatch(self.vendor):
            found.append(
                f"VENDOR must be lower_case letters, digits and _, starting with a letter "
                f"(it names the folder and the adapter), got {self.vendor!r}"
            )
        if self.cadence not in CADENCES:
            found.append(f"--cadence must be one of {', '.join(CADENCES)}, got {self.cadence!r}")
        if not self.owner.strip() or not self.contact.strip():
            found.append("--owner (a team) and --contact (an address) say who answers for it")
        for flag, link in (("--runbook", self.runbook), ("--migration-plan", self.migration_plan)):
            if link is not None and not LINK.fullmatch(link):
                found.append(f"{flag} must be an http(s) link, got {link!r}")
        if self.cadence in ("sprint", "hybrid"):
            if self.migration_plan is None:
                found.append(f"--migration-plan: a {self.cadence} integration needs a plan")
            if self.expires_on is None:
                found.append(f"--expires-on: a {self.cadence} integration needs an expiry date")
        if self.expires_on is not None and self.expires_on <= today:
            found.append(f"--expires-on must be after today ({today.isoformat()})")
        for purpose in self.consent:
            if not IDENTIFIER.fullmatch(purpose):
                found.append(f"--consent purposes are lower_case names, got {purpose!r}")
        return [Problem(text) for text in found]


@dataclass(frozen=True, slots=True)
class Scaffolded:
    """What was written: the folder and its files (relative to it)."""

    folder: Path
    files: tuple[str, ...]


def scaffold_adapter(
    plan: AdapterPlan, adapters_dir: Path, registry: SchemaRegistry, *, today: date
) -> Scaffolded:
    """Write ``adapters_dir/<vendor>/``; ConfigError (nothing written) when the plan is wrong."""
    from martech_bus.mapping.hints import did_you_mean

    problems = plan.problems(today)
    if plan.event not in registry.subjects():
        known = registry.subjects()
        problems.append(
            Problem(
                f"--event {plan.event!r} is not in the catalogue{did_you_mean(plan.event, known)} "
                f"(known: {', '.join(known)}); add it first with: martech-bus new event NAME"
            )
        )
    target = adapters_dir / plan.vendor
    if target.exists():
        problems.append(Problem(f"{target} already exists: choose another name or remove it"))
    if problems:
        raise ConfigError(f"cannot scaffold adapter {plan.vendor!r}", problems=problems)
    adapters_dir.mkdir(parents=True, exist_ok=True)
    # Built in a scratch folder and moved into place whole: a failure leaves nothing half-written.
    with tempfile.TemporaryDirectory(prefix=".new-adapter-", dir=adapters_dir) as scratch:
        folder = Path(scratch) / plan.vendor
        files = _write(plan, folder, registry)
        shutil.move(str(folder), target)
    return Scaffolded(target, files)


def _write(plan: AdapterPlan, folder: Path, registry: SchemaRegistry) -> tuple[str, ...]:
    from martech_bus.adapter.loader import load_adapter
    from martech_bus.scaffold.examples import example_event
    from martech_bus.schema.validate import validate_event

    versions = [entry.version for entry in registry.versions(plan.event)]
    texts = {
        "adapter.yaml": manifest_yaml(plan),
        f"mappings/{plan.event}.yaml": mapping_yaml(registry, plan.event, versions),
        "handler.py": HANDLER.format(vendor=plan.vendor),
        "payload.schema.json": _json(_payload_schema(plan, {})),
    }
    inputs = {
        f"{plan.event}_full": example_event(registry, plan.event),
        f"{plan.event}_minimal": example_event(registry, plan.event, minimal=True),
    }
    for case, event in inputs.items():
        texts[f"fixtures/{case}.input.json"] = _json(event)
    _put(folder, texts)
    adapter = load_adapter(folder)
    bodies = {
        case: adapter.render(validate_event(registry, event)[1]) for case, event in inputs.items()
    }
    later = {f"fixtures/{case}.expected.json": _json(body) for case, body in bodies.items()}
    later["payload.schema.json"] = _json(_payload_schema(plan, infer_schema(list(bodies.values()))))
    _put(folder, later)
    return tuple(sorted({**texts, **later}))


def _put(folder: Path, texts: Mapping[str, str]) -> None:
    for name, text in texts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# -- the manifest ------------------------------------------------------------------------------

HANDLER: Final = '''"""AWS Lambda entry point for the {vendor} adapter: deploy with docs/deploy-lambda.md."""

from martech_bus.aws import adapter_handler

handler = adapter_handler("{vendor}")
'''


def manifest_yaml(plan: AdapterPlan) -> str:
    """The manifest text: complete, commented, with TODOs where the vendor's API docs decide."""
    secret = f"env:{plan.vendor.upper()}_API_TOKEN"
    scores = dict(
        zip(
            ("risk_compliance", "data_maturity", "integration_complexity", "business_impact"),
            STARTING_SCORES[plan.cadence],
            strict=True,
        )
    )
    lines = [
        f"# {plan.title}: scaffolded by `martech-bus new adapter {plan.vendor}`.",
        "# The format is in docs/adapters.md; `martech-bus contract-test` checks it all.",
        f"name: {plan.vendor}",
        f"display_name: {_quoted(plan.title)}",
        f"description: {_quoted(f'{plan.event} events for {plan.title}.')}",
        "owner:",
        f"  team: {_quoted(plan.owner)}",
        f"  contact: {_quoted(plan.contact)}",
        f"cadence: {plan.cadence}",
    ]
    if plan.expires_on is not None:
        lines.append(f'expires_on: "{plan.expires_on.isoformat()}"')
    if plan.migration_plan is not None:
        lines.append(f"migration_plan: {plan.migration_plan}")
    lines += [
        f"runbook: {plan.runbook}",
        "",
        "# Decision matrix (docs/governance.md): starting scores for a "
        f"{plan.cadence}; TODO: score this integration.",
        "governance:",
        "  scores: {" + ", ".join(f"{k}: {v}" for k, v in scores.items()) + "}",
        "  risks: {privacy: 3, vendor_lock_in: 2, performance: 2, observability: 2}",
        "",
        "endpoint:",
        "  method: POST",
        "  # TODO: the vendor's endpoint",
        f"  url: {plan.url}",
        "  auth:",
        "    scheme: bearer  # TODO: header, bearer, query or basic, as the vendor wants",
        f"    secret: {secret}  # a reference: secrets never live here",
        "  idempotency_header: Idempotency-Key",
        "",
        "batch:",
        "  max_events: 1  # TODO: raise it with an envelope when the API takes batches",
        "",
        "retry:",
        "  max_attempts: 5",
        "",
        "consent:",
        f"  purposes: [{', '.join(plan.consent)}]",
        "",
        "mappings:",
        f"  {plan.event}: 1",
    ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML string, never ambiguous


# -- the mapping template ----------------------------------------------------------------------


def mapping_yaml(registry: SchemaRegistry, event: str, versions: Sequence[int]) -> str:
    """A mapping of ``event`` that maps its envelope and every property all ``versions`` share."""
    from martech_bus.mapping.parser import DIRECTIVE_KEYS

    schemas = [registry.get(event, version).schema for version in versions]
    shared = _shared_properties(schemas)
    left_out: list[str] = []
    lines = [
        f"# {event} -> the vendor's request body. Written from the canonical schema as a",
        "# starting point: TODO rename and reshape the fields to what the vendor's API documents",
        "# (docs/mappings.md), then re-render the expected fixtures.",
        "mapping_version: 1",
        "source:",
        f"  event: {event}",
        f"  versions: [{', '.join(map(str, versions))}]",
        "output:",
        f"  event: {_quoted(event)}",
        "  event_id: {path: event_id, required: true}",
        "  occurred_at: {path: occurred_at, transform: [iso8601]}",
        "  user_id: {path: user_id}",
        "  anonymous_id: {path: anonymous_id}",
        "  # also there: consent.<purpose>, context.ip, context.user_agent, context.page.url, ...",
    ]
    body = _fields(shared, "properties.", 2, left_out, DIRECTIVE_KEYS)
    if body:
        lines += ["  properties:", *_object(body, 4, DIRECTIVE_KEYS, [n for n, _ in shared])]
    if left_out:
        lines.insert(
            lines.index("output:"),
            "# left out, as personal data (send only what the vendor needs, hashed if it asks): "
            + ", ".join(left_out),
        )
    return "\n".join(lines) + "\n"


def _shared_properties(schemas: Sequence[Any]) -> list[tuple[str, Any]]:
    """The latest version's property fields whose names every version has."""

    def fields(schema: Any) -> list[Any]:
        properties = next(f for f in schema["fields"] if f["name"] == "properties")
        kind = properties["type"]
        return list(kind.get("fields", [])) if isinstance(kind, dict) else []

    names = [{f["name"] for f in fields(schema)} for schema in schemas]
    everywhere = set.intersection(*names) if names else set()
    return [(f["name"], f) for f in fields(schemas[-1]) if f["name"] in everywhere]


def _object(body: list[str], indent: int, directives: frozenset[str], keys: list[str]) -> list[str]:
    """``body`` as a nested output object; ``object:`` when a key is also a directive name."""
    if not directives.intersection(keys):
        return body
    pad = " " * indent
    return [f"{pad}object:", *("  " + line for line in body)]


def _fields(
    fields: list[tuple[str, Any]],
    prefix: str,
    depth: int,
    left_out: list[str],
    directives: frozenset[str],
) -> list[str]:
    """Output lines (indented ``depth`` levels) mapping each field from ``prefix``."""
    pad = "  " * depth
    lines: list[str] = []
    for name, field in fields:
        pii = field.get("pii")
        path = prefix + name
        kind = _non_null(field["type"])
        if pii is not None and pii not in _HASHED:
            left_out.append(f"{path} ({pii})")
        elif pii is not None:
            lines.append(
                f"{pad}{name}_sha256: {{path: {path}, transform: [{{sha256: {_HASHED[pii]}}}]}}"
            )
        elif isinstance(kind, dict) and kind.get("type") == "array" and _is_record(kind["items"]):
            inner = [(f["name"], f) for f in kind["items"]["fields"]]
            item_lines = _fields(inner, "", depth + 2, left_out, directives)
            lines += [f"{pad}{name}:", f"{pad}  each: {path}", f"{pad}  as:"]
            lines += _object(item_lines, len(pad) + 4, directives, [n for n, _ in inner])
        elif _is_record(kind):
            inner = [(f["name"], f) for f in kind["fields"]]
            nested = _fields(inner, path + ".", depth + 1, left_out, directives)
            if nested:
                lines += [
                    f"{pad}{name}:",
                    *_object(nested, len(pad) + 2, directives, [n for n, _ in inner]),
                ]
        else:
            lines.append(f"{pad}{name}: {{path: {path}{_transform(kind)}}}")
    return lines


def _non_null(kind: Any) -> Any:
    if isinstance(kind, list):
        branches = [branch for branch in kind if branch != "null"]
        return branches[0] if len(branches) == 1 else kind
    return kind


def _is_record(kind: Any) -> bool:
    return isinstance(kind, dict) and kind.get("type") == "record"


def _transform(kind: Any) -> str:
    logical = kind.get("logicalType") if isinstance(kind, dict) else None
    if logical == "decimal":
        return ", transform: [{cast: float}]"  # exact in the event; most APIs take numbers
    if logical in ("timestamp-millis", "timestamp-micros"):
        return ", transform: [iso8601]"
    return ""


# -- the payload-schema stub -------------------------------------------------------------------


def infer_schema(samples: Sequence[Any]) -> dict[str, Any]:
    """A JSON Schema every sample satisfies: types seen, keys present in every object required."""
    types = sorted({_json_type(sample) for sample in samples})
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    objects = [s for s in samples if isinstance(s, dict)]
    if objects:
        keys = list(dict.fromkeys(key for sample in objects for key in sample))
        schema["required"] = [k for k in keys if all(k in sample for sample in objects)]
        schema["properties"] = {
            key: infer_schema([sample[key] for sample in objects if key in sample]) for key in keys
        }
    items = [item for s in samples if isinstance(s, list) for item in s]
    if items:
        schema["items"] = infer_schema(items)
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _payload_schema(plan: AdapterPlan, inferred: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{plan.title}: request body",
        "$comment": (
            "A stub inferred from the scaffold's fixtures. TODO: write it from the vendor's API "
            "documentation (required fields, formats, limits): the contract checks validate every "
            "rendered body against it."
        ),
        **(inferred or {"type": "object"}),
    }


__all__ = [
    "AdapterPlan",
    "Scaffolded",
    "infer_schema",
    "manifest_yaml",
    "mapping_yaml",
    "scaffold_adapter",
]
