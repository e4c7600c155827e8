"""``martech-bus mapping ...``: render, test, check and diff vendor mappings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from martech_bus.cli.options import AdaptersOption, SchemasOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console, print_json
from martech_bus.config import Paths

if TYPE_CHECKING:
    from martech_bus.adapter.loader import Adapter
    from martech_bus.schema.registry import SchemaRegistry

app = typer.Typer(
    help="Vendor mappings: render an event, run fixtures, check statically, diff versions.",
    no_args_is_help=True,
)


def _registry(schemas: Path | None) -> SchemaRegistry:
    from martech_bus.schema.registry import SchemaRegistry

    return SchemaRegistry.load(Paths.resolve(schemas_dir=schemas).schemas_dir)


def _adapters(adapter: str | None, adapters: Path | None) -> list[Adapter]:
    from martech_bus.adapter.loader import find_adapters, resolve_adapter

    return [resolve_adapter(adapter, adapters)] if adapter else find_adapters(adapters)


@app.command("render")
def render(
    adapter: str = typer.Argument(..., help="Adapter folder name (e.g. meta_capi) or path."),
    event_file: Path = typer.Argument(..., help="One canonical event (JSON)."),
    adapters: Path | None = AdaptersOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Print the exact request body the vendor would receive for one event (envelope included)."""
    from martech_bus.adapter.loader import resolve_adapter
    from martech_bus.errors import ValidationError
    from martech_bus.eventfile import read_events
    from martech_bus.schema.validate import validate_event

    items = read_events(event_file)
    if len(items) != 1:
        raise ValidationError(
            f"render takes one event; the file holds {len(items)}", location=items[0].location
        )
    target = resolve_adapter(adapter, adapters)
    _, datum = validate_event(_registry(schemas), items[0].event)
    blocked = target.consent_block_reason(datum)
    if blocked:
        err_console.print(f"note: this event would be skipped ({blocked})", markup=False)
    print_json(target.render(datum))


@app.command("test")
def test(
    adapter: str | None = typer.Argument(None, help="One adapter (default: every adapter)."),
    adapters: Path | None = AdaptersOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Render every fixture and compare it with its expected body (exit 1 on any mismatch)."""
    from martech_bus.adapter.checks import run_fixtures

    registry = _registry(schemas)
    results = [
        result
        for target in _adapters(adapter, adapters)
        for result in run_fixtures(target, registry)
    ]
    table = Table(title="Fixtures")
    for column in ("adapter", "fixture", "result"):
        table.add_column(column, no_wrap=True)
    for result in results:
        table.add_row(
            result.adapter, result.case, "[green]ok[/]" if result.ok else "[red]FAILED[/]"
        )
    console.print(table)
    failed = [result for result in results if not result.ok]
    for result in failed:
        console.print(f"\n[bold red]{result.adapter}/{result.case}[/]")
        for problem in result.problems:
            console.print(f"  - {problem}", markup=False)
        if result.diff:
            console.print(result.diff, markup=False, highlight=False)
    console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("check")
def check(
    adapter: str | None = typer.Argument(None, help="One adapter (default: every adapter)."),
    adapters: Path | None = AdaptersOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Check every mapping against every schema version it accepts (exit 1 on errors; warnings pass)."""
    from martech_bus.adapter.checks import check_adapter
    from martech_bus.mapping.checker import is_warning

    registry = _registry(schemas)
    targets = _adapters(adapter, adapters)
    problems = [problem for target in targets for problem in check_adapter(target, registry)]
    errors = [p for p in problems if not is_warning(p)]
    for problem in problems:
        (console if is_warning(problem) else err_console).print(f"  - {problem}", markup=False)
    mappings = sum(len(target.specs) for target in targets)
    console.print(
        f"{mappings} mappings in {len(targets)} adapters: {len(errors)} errors, {len(problems) - len(errors)} warnings"
    )
    if errors:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command("diff")
def diff(
    old: Path = typer.Argument(..., help="The older mapping file."),
    new: Path = typer.Argument(..., help="The newer mapping file."),
) -> None:
    """Field-level differences between two versions of a mapping."""
    from martech_bus.mapping import load_mapping
    from martech_bus.mapping.diff import diff_mappings, render_diff

    console.print(
        render_diff(diff_mappings(load_mapping(old), load_mapping(new))),
        markup=False,
        highlight=False,
    )
