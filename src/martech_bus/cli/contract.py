"""``martech-bus contract-test``: the contract checks without pytest, for any CI."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from martech_bus.cli.options import AdaptersOption, SchemasOption, SourcesOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console
from martech_bus.errors import ConfigError


def contract_test(
    junit_xml: Path | None = typer.Option(
        None, "--junit-xml", help="Also write the results to FILE as JUnit XML.", metavar="FILE"
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        help="Also report breaking schema changes against this git revision (as schema check --base).",
        metavar="GIT_REF",
    ),
    schemas: Path | None = SchemasOption,
    adapters: Path | None = AdaptersOption,
    sources: Path | None = SourcesOption,
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="List every check with its note, not only the failures."
    ),
) -> None:
    """Run every contract check: schemas, compatibility, mappings, fixtures, manifests, expiry.

    The same checks the pytest plugin collects. Exit 0 when all pass, 1 when any fails.
    """
    from martech_bus.contract import Contract, ContractRoots
    from martech_bus.contract.junit import write_junit_xml

    roots = ContractRoots.resolve(schemas, adapters, sources)
    if not roots.schemas.is_dir():
        raise ConfigError(
            f"no schema catalogue at {roots.schemas}: run from the repository root, "
            "or pass --schemas (and --adapters, --sources)"
        )
    contract = Contract(roots, base=base)
    checks = contract.checks()
    if contract.base_error is not None:  # a revision git cannot read is bad input, not a failure
        raise ConfigError(f"--base {base}: {contract.base_error}")
    results = contract.run(checks)

    table = Table(title="Contract checks")
    for column in ("group", "checks", "passed", "failed"):
        table.add_column(column, no_wrap=True, justify="left" if column == "group" else "right")
    groups: dict[str, list[bool]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result.passed)
    for group, verdicts in groups.items():
        failed = verdicts.count(False)
        table.add_row(
            escape(group),
            str(len(verdicts)),
            str(verdicts.count(True)),
            f"[red]{failed}[/]" if failed else "0",
        )
    console.print(table)

    if verbose:
        for result in results:
            mark = "[green]ok[/]    " if result.passed else "[red]FAILED[/]"
            note = result.message.splitlines()[0] if result.passed and result.message else ""
            console.print(f"{mark} {escape(result.id)}  [dim]{escape(note)}[/]")
    warnings = [
        line
        for result in results
        if result.passed
        for line in result.message.splitlines()
        if line.startswith("warning:")
    ]
    for line in warnings:
        console.print(line, markup=False, highlight=False)
    failures = [result for result in results if not result.passed]
    for result in failures:
        console.print(f"\n[bold red]FAILED[/] {escape(result.id)}")
        console.print(result.message, markup=False, highlight=False)

    if junit_xml is not None:
        console.print(f"JUnit XML: {write_junit_xml(results, junit_xml)}")
    summary = (
        f"{len(results)} checks: {len(results) - len(failures)} passed, {len(failures)} failed"
    )
    if warnings:
        summary += f", {len(warnings)} warning{'s' * (len(warnings) != 1)}"
    console.print(f"[{'red' if failures else 'green'}]{summary}[/]")
    if failures:
        raise typer.Exit(EXIT_CHECK_FAILED)
