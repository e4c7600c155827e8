"""``martech-bus debt``: the integration-debt report across every adapter and gateway source."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import typer

from martech_bus.cli.options import (
    AdaptersOption,
    DlqOption,
    FlagsOption,
    Format,
    FormatOption,
    QuarantineOption,
    SourcesOption,
)
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console
from martech_bus.errors import ConfigError


def _today(value: str | None) -> tuple[date, datetime]:
    """The date expiry is judged by and the moment ages are measured to."""
    if value is None:
        now = datetime.now(UTC)
        return now.date(), now
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--today {value!r} is not a date written YYYY-MM-DD") from None
    return day, datetime.combine(day, time(), UTC)


def debt(
    output: Format = FormatOption,
    html: Path | None = typer.Option(
        None,
        "--html",
        help="Also write a self-contained HTML page with charts to FILE.",
        metavar="FILE",
    ),
    adapters: Path | None = AdaptersOption,
    sources: Path | None = SourcesOption,
    flags: str | None = FlagsOption,
    dlq: str | None = DlqOption,
    quarantine: str | None = QuarantineOption,
    docs: Path = typer.Option(
        Path("docs"),
        "--docs",
        metavar="DIR",
        help="Docs directory whose pages must mention each integration.",
    ),
    today: str | None = typer.Option(
        None,
        "--today",
        metavar="DATE",
        help="Judge expiry and ages as of this date, YYYY-MM-DD (default: today, UTC).",
        show_default=False,
    ),
    warn_days: int = typer.Option(
        30, "--warn-days", min=0, help="An end date this many days away or closer counts as near."
    ),
    stuck_days: int = typer.Option(
        14, "--stuck-days", min=0, help="A rollout not flipped for longer than this is stuck."
    ),
    fail_above: int | None = typer.Option(
        None,
        "--fail-above",
        min=0,
        max=100,
        help="Exit 1 when any integration scores above SCORE (for CI).",
        metavar="SCORE",
        show_default=False,
    ),
) -> None:
    """Report integration debt: routes off the bus, expiring stop-gaps, untested or undocumented
    mappings, DLQ and quarantine backlog, stuck rollouts, missing owners; a score per integration
    and a migration-readiness checklist.
    """
    from martech_bus.adapter.loader import find_adapters
    from martech_bus.backends import dead_letter_store
    from martech_bus.gateway.quarantine import quarantine_store
    from martech_bus.gateway.sources import find_sources
    from martech_bus.governance.collect import collect_debt
    from martech_bus.governance.html import render_html
    from martech_bus.governance.model import Thresholds
    from martech_bus.governance.render import print_report, render_json
    from martech_bus.routing.store import flag_store

    day, now = _today(today)
    dead_letters = dead_letter_store(dlq)
    held = quarantine_store(quarantine)
    try:
        report = collect_debt(
            find_adapters(adapters),
            find_sources(sources).values(),
            today=day,
            now=now,
            flags=flag_store(flags, ttl=0),
            dead_letters=dead_letters,
            quarantine=held,
            docs_dir=docs,
            thresholds=Thresholds(warn_days=warn_days, stuck_days=stuck_days),
        )
    finally:
        dead_letters.close()
        held.close()
    if output is Format.JSON:
        # Plain stdout, not rich: the JSON must reach a pipe byte for byte.
        typer.echo(render_json(report))
    else:
        print_report(report, console)
    if html is not None:
        try:
            html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--html {html}: cannot write: {exc.strerror or exc}") from None
        err_console.print(f"wrote {html}", markup=False)
    if fail_above is not None:
        over = [item for item in report.integrations if item.score > fail_above]
        for item in over:
            err_console.print(
                f"{item.name}: debt score {item.score} is above {fail_above}", markup=False
            )
        if over:
            raise typer.Exit(EXIT_CHECK_FAILED)
