"""``martech-bus dlq ...``: inspect and replay dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from martech_bus.cli.options import AdaptersOption, DlqOption, SchemasOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, print_json
from martech_bus.errors import ConfigError

app = typer.Typer(
    help="Dead letters: list, show and replay them through the pipeline.", no_args_is_help=True
)


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since {value!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command("list")
def list_records(
    vendor: str | None = typer.Option(None, "--vendor", help="Only this vendor's dead letters."),
    since: str | None = typer.Option(
        None, "--since", help="Only those dead-lettered since (ISO 8601)."
    ),
    include_replayed: bool = typer.Option(False, "--all", help="Include records already replayed."),
    dlq: str | None = DlqOption,
) -> None:
    """List dead letters waiting for a replay."""
    from martech_bus.backends import dead_letter_store

    records = dead_letter_store(dlq).list(
        vendor=vendor, since=_since(since), include_replayed=include_replayed
    )
    table = Table(title=f"{len(records)} dead letter{'s' * (len(records) != 1)}")
    # Ids fold onto several lines in a narrow terminal; the reason keeps a readable width.
    for column in ("id", "vendor", "event", "route", "attempts", "when"):
        table.add_column(column, overflow="fold")
    table.add_column("reason", min_width=24, ratio=1)
    for record in records:
        table.add_row(
            record.id,
            record.vendor,
            record.event_id,
            record.route,
            str(record.attempts),
            record.dead_lettered_at.isoformat(timespec="seconds"),
            record.reason,
        )
    console.print(table)


@app.command("show")
def show(
    record_id: str = typer.Argument(..., help="A dead letter id (from `dlq list`)."),
    dlq: str | None = DlqOption,
) -> None:
    """Show one dead letter: the event, the last request and response, the reason."""
    import json

    from martech_bus.backends import dead_letter_store

    print_json(json.loads(dead_letter_store(dlq).get(record_id).to_json()))


@app.command("replay")
def replay(
    vendor: str | None = typer.Option(None, "--vendor", help="Only this vendor's dead letters."),
    since: str | None = typer.Option(
        None, "--since", help="Only those dead-lettered since (ISO 8601)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be replayed."),
    dlq: str | None = DlqOption,
    adapters: Path | None = AdaptersOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Replay dead letters through the same pipeline (idempotent; exit 1 if any still fails)."""
    from martech_bus.backends import dead_letter_store
    from martech_bus.integration import Runtime
    from martech_bus.replay import ReplayVerdict
    from martech_bus.replay import replay as run_replay

    store = dead_letter_store(dlq)
    waiting = store.count(vendor=vendor)
    runtime = Runtime(schemas_dir=schemas, adapters_dir=adapters, dlq=dlq)
    # A progress bar only on a terminal: on a pipe it would leave a blank line behind.
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("replaying", total=waiting)
        report = run_replay(
            store,
            runtime,
            vendor=vendor,
            since=_since(since),
            dry_run=dry_run,
            on_record=lambda _: progress.advance(task),
        )
    for item in report.records:
        if item.verdict is not ReplayVerdict.DELIVERED:
            console.print(
                f"  {item.verdict.value:<12} {item.record.id} {item.record.vendor} {item.reason or ''}",
                markup=False,
            )
    delivered, failed = report.count(ReplayVerdict.DELIVERED), report.count(ReplayVerdict.FAILED)
    if dry_run:
        console.print(f"would replay {report.count(ReplayVerdict.WOULD_REPLAY)} dead letters")
        return
    console.print(f"replayed {delivered}, still failing {failed}")
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)
