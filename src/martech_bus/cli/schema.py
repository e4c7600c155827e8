"""``martech-bus schema ...``: the canonical event catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from martech_bus.cli.options import SchemasOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console, print_json
from martech_bus.config import Paths
from martech_bus.errors import Problem, ValidationError
from martech_bus.schema.registry import SchemaRegistry

app = typer.Typer(
    help="The canonical event catalogue: list, show, validate, check compatibility.",
    no_args_is_help=True,
)


def _schemas_dir(schemas: Path | None) -> Path:
    return Paths.resolve(schemas_dir=schemas).schemas_dir


def _registry(schemas: Path | None) -> SchemaRegistry:
    return SchemaRegistry.load(_schemas_dir(schemas))


def _pii_fields(schema: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(path, pii tag) for every PII-tagged field, nested records included."""
    found: list[tuple[str, str]] = []
    for field in schema.get("fields", []):
        path = f"{prefix}{field['name']}"
        if "pii" in field:
            found.append((path, str(field["pii"])))
        for branch in field["type"] if isinstance(field["type"], list) else [field["type"]]:
            if isinstance(branch, dict):
                inner = branch.get("items", branch) if branch.get("type") == "array" else branch
                if isinstance(inner, dict) and inner.get("type") == "record":
                    found.extend(
                        _pii_fields(inner, f"{path}{'[]' if inner is not branch else ''}.")
                    )
    return found


@app.command("list")
def list_subjects(schemas: Path | None = SchemasOption) -> None:
    """List every canonical event with its versions, ids, mode and owner."""
    registry = _registry(schemas)
    table = Table(title=f"Canonical events ({_schemas_dir(schemas)})")
    for column in ("event", "versions", "latest id", "compatibility", "owner"):
        table.add_column(column, no_wrap=True)
    table.add_column("description")
    for subject in registry.subjects():
        info, latest = registry.info(subject), registry.latest(subject)
        versions = ", ".join(f"v{v.version}" for v in registry.versions(subject))
        table.add_row(
            subject,
            versions,
            str(latest.schema_id),
            info.compatibility,
            info.owner or "-",
            info.description or "",
        )
    console.print(table)


@app.command("show")
def show(
    event: str = typer.Argument(..., help="Event type, e.g. order_completed."),
    version: int | None = typer.Option(
        None, "--version", "-v", help="Version (default: the latest)."
    ),
    schemas: Path | None = SchemasOption,
) -> None:
    """Show one event schema: metadata, PII fields and the Avro definition."""
    registry = _registry(schemas)
    entry = registry.get(event, version)
    info = registry.info(event)
    console.print(
        f"[bold]{entry.subject}[/] v{entry.version}  (of {len(registry.versions(event))})"
    )
    console.print(f"schema id      {entry.schema_id}")
    console.print(f"compatibility  {info.compatibility}")
    console.print(f"owner          {info.owner or '-'}")
    console.print(f"sha256         {entry.fingerprints.sha256}")
    console.print(f"rabin64        {entry.fingerprints.rabin64}")
    pii = _pii_fields(entry.schema)
    console.print("pii fields     " + (", ".join(f"{path} ({tag})" for path, tag in pii) or "-"))
    print_json(entry.schema)


@app.command("validate")
def validate(
    events_file: Path = typer.Argument(
        ..., help="A JSON object, a JSON array or JSON lines of events."
    ),
    schemas: Path | None = SchemasOption,
) -> None:
    """Validate canonical events against the catalogue (exit 1 if any is invalid)."""
    from martech_bus.eventfile import read_events
    from martech_bus.schema.validate import validate_event

    registry = _registry(schemas)
    failures = 0
    items = read_events(events_file)
    for item in items:
        where = item.location.render()
        try:
            entry, datum = validate_event(registry, item.event)
        except ValidationError as exc:
            failures += 1
            err_console.print(f"[red]invalid[/] {where}: {exc.message}")
            for problem in exc.problems:
                err_console.print(f"  - {problem}", markup=False)
            continue
        console.print(
            f"[green]valid[/]   {where}: {entry.subject} v{entry.version} event {datum['event_id']}"
        )
    console.print(f"{len(items) - failures} valid, {failures} invalid")
    if failures:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("compat")
def compat(
    reader: Path = typer.Argument(
        ..., help="The reader schema (.avsc); with --mode, the NEW version."
    ),
    writer: Path = typer.Argument(
        ..., help="The writer schema (.avsc); with --mode, the EXISTING version."
    ),
    mode: str | None = typer.Option(
        None,
        "--mode",
        "-m",
        help="BACKWARD, FORWARD, FULL (transitive variants and NONE accepted).",
    ),
) -> None:
    """Can READER read data written with WRITER? (exit 0 yes, 1 no, 2 invalid input)

    With --mode, READER is the new version and WRITER the existing one: BACKWARD
    asks whether the new one reads existing data, FORWARD whether the existing one
    reads new data, FULL both.
    """
    from martech_bus.schema.avro import check_schema, read_schema_file
    from martech_bus.schema.compat import CompatibilityMode, check_compatibility

    new, existing = (
        _checked_schema(path, read_schema_file, check_schema) for path in (reader, writer)
    )
    if mode is None:
        directions = [("reader cannot read writer data", new, existing)]
        label = "reader can read writer data"
    else:
        parsed = CompatibilityMode.parse(mode)
        name = parsed.value.removesuffix("_TRANSITIVE")
        directions = []
        if name in ("BACKWARD", "FULL"):
            directions.append(("the new schema cannot read existing data", new, existing))
        if name in ("FORWARD", "FULL"):
            directions.append(("the existing schema cannot read new data", existing, new))
        label = f"{parsed.value} compatible"
    messages = [
        f"{problem}: {message}"
        for problem, reader_schema, writer_schema in directions
        for message in check_compatibility(reader_schema, writer_schema).messages
    ]
    if not messages:
        console.print(f"[green]compatible[/]: {label}")
        return
    console.print(f"[red]incompatible[/] ({len(messages)} problem{'s' * (len(messages) != 1)}):")
    for message in messages:
        console.print(f"  - {message}", markup=False)
    raise typer.Exit(EXIT_CHECK_FAILED)


def _checked_schema(path: Path, read: Any, check: Any) -> Any:
    schema = read(path)
    check(schema, file=str(path))
    return schema


@app.command("check")
def check(
    base: str | None = typer.Option(
        None, "--base", help="Compare with the catalogue at this git revision."
    ),
    schemas: Path | None = SchemasOption,
) -> None:
    """Check every subject's versions against its compatibility mode (and --base): what CI runs."""
    from martech_bus.schema.evolution import (
        check_against_base,
        check_catalogue,
        registry_at_revision,
    )

    directory = _schemas_dir(schemas)
    registry = SchemaRegistry.load(directory)
    problems: list[Problem] = check_catalogue(registry)
    if base is not None:
        with registry_at_revision(base, directory) as before:
            problems += [p for p in check_against_base(registry, before) if p not in problems]
    if not problems:
        where = f" against {base}" if base else ""
        console.print(
            f"[green]ok[/]: {len(registry.subjects())} subjects, {sum(1 for _ in registry)} versions{where}"
        )
        return
    console.print(f"[red]{len(problems)} problem{'s' * (len(problems) != 1)}[/]:")
    for problem in problems:
        console.print(f"  - {problem}", markup=False)
    raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("fingerprint")
def fingerprint(
    schema_file: Path = typer.Argument(..., help="An Avro schema file (.avsc)."),
    canonical: bool = typer.Option(
        False, "--canonical", help="Also print the Parsing Canonical Form."
    ),
) -> None:
    """Print a schema's SHA-256 and Rabin-64 fingerprints, content digest and embedded id."""
    from martech_bus.schema.avro import check_schema, fingerprints, read_schema_file
    from martech_bus.schema.registry import embedded_schema_id

    schema = _checked_schema(schema_file, read_schema_file, check_schema)
    prints = fingerprints(schema)
    if canonical:
        console.print(f"canonical  {prints.canonical}", markup=False)
    console.print(f"sha256     {prints.sha256}")
    console.print(f"rabin64    {prints.rabin64}")
    console.print(f"content    {prints.content}")
    console.print(f"id         {embedded_schema_id(prints.content)}")


@app.command("codegen")
def codegen(
    out: Path = typer.Option(
        Path("src/martech_bus/events"), "--out", help="Where the generated models go."
    ),
    check_only: bool = typer.Option(False, "--check", help="Only report drift (exit 1 if any)."),
    schemas: Path | None = SchemasOption,
) -> None:
    """Generate pydantic models from the Avro catalogue (the Avro files stay the source of truth)."""
    from martech_bus.schema import codegen as generator

    files = generator.generate(_registry(schemas))
    if check_only:
        stale = generator.check(files, out)
        if stale:
            console.print(
                f"[red]out of date[/]: {', '.join(stale)} (run: martech-bus schema codegen)"
            )
            raise typer.Exit(EXIT_CHECK_FAILED)
        console.print(f"[green]up to date[/]: {len(files)} files in {out}")
        return
    written = generator.write(files, out)
    console.print(f"wrote {len(written)} files to {out}")
