"""``martech-bus shadow report``: how the bus connector's payloads compare with the direct path's."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table
from rich.text import Text

from martech_bus.cli.options import Format, FormatOption
from martech_bus.cli.output import console, print_json
from martech_bus.routing.flags import check_integration
from martech_bus.shadow.report import ShadowReport, shadow_report
from martech_bus.shadow.select import shadow_store

app = typer.Typer(
    help="Shadow mode: compare what the bus would send with what the direct path sent.",
    no_args_is_help=True,
)


@app.command("report")
def report(
    integration: str = typer.Argument(..., help="<vendor> or <source>:<vendor>, e.g. braze."),
    store: str | None = typer.Option(
        None,
        "--store",
        metavar="SETTING",
        help="Shadow store: sqlite[:PATH] or memory (default: $MARTECH_BUS_SHADOW, else sqlite).",
    ),
    output: Format = FormatOption,
    since: datetime | None = typer.Option(
        None, "--since", help="Only comparisons recorded since this time (ISO 8601, UTC if naive)."
    ),
    samples: int = typer.Option(5, "--samples", min=0, help="Examples of send/skip mismatches."),
) -> None:
    """The match rate and the field-level differences, most frequent first.

    Values that may be personal data or secrets are masked (***) when recorded.
    """
    check_integration(integration)
    started = None if since is None else (since if since.tzinfo else since.replace(tzinfo=UTC))
    result = shadow_report(
        shadow_store(store),
        integration,
        since=None if started is None else started.timestamp(),
        samples=samples,
    )
    if output is Format.JSON:
        print_json(result.as_dict())
    else:
        _print(result)


def _print(result: ShadowReport) -> None:
    if not result.compared:
        console.print(
            f"no shadow comparisons for {result.integration} yet: set its flag to shadow "
            "(`martech-bus flag set ... shadow`) and run its bus connector"
        )
        return
    rate = result.match_rate or 0.0
    style = "green" if rate == 1.0 else ("yellow" if rate >= 0.99 else "bold red")
    console.print(
        Text.assemble(
            f"{result.integration}: ",
            (f"{rate:.2%} matched", style),
            f" ({result.matched} of {result.compared} events; "
            f"{result.both_skipped} skipped on both paths)",
        )
    )
    if result.paths:
        table = Table(title="field-level differences (direct -> bus)")
        for column in ("path", "kind", "events", "example direct", "example bus", "event_id"):
            table.add_column(column, overflow="fold")
        for path in result.paths:
            example = path.example
            table.add_row(
                path.path,
                path.kind,
                str(path.events),
                _show(example.get("direct")),
                _show(example.get("bus")),
                str(example.get("event_id")),
            )
        console.print(table)
    if result.skip_mismatches:
        table = Table(title="sent on one path, skipped on the other")
        for column in ("event_id", "event_type", "direct", "bus"):
            table.add_column(column, overflow="fold")
        for item in result.skip_mismatches:
            table.add_row(item["event_id"], item["event_type"], item["direct"], item["bus"])
        console.print(table)


def _show(value: object) -> str:
    import json

    return "-" if value is None else json.dumps(value, default=str)
