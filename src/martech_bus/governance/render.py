"""The debt report as a terminal table (rich) and as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from martech_bus.governance.model import DebtReport, IntegrationDebt

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


def render_json(report: DebtReport) -> str:
    """The report as indented JSON (``DebtReport.to_dict``)."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)


def _score_style(score: int) -> str:
    return "bold red" if score >= 50 else "yellow" if score >= 25 else "green"


def _cadence(item: IntegrationDebt) -> str:
    if item.suggested_cadence is None or item.suggested_cadence == item.cadence:
        return item.cadence
    return f"{item.cadence} (scores: {item.suggested_cadence})"


def _expiry(item: IntegrationDebt) -> str:
    if item.expires_on is None or item.days_left is None:
        return "-"
    if item.days_left < 0:
        return f"{item.expires_on} ({-item.days_left}d ago)"
    return f"{item.expires_on} ({item.days_left}d)"


def _backlog(item: IntegrationDebt) -> str:
    if item.backlog.count == 0:
        return "0"
    age = "" if item.backlog.oldest_days is None else f", {item.backlog.oldest_days:.1f}d"
    return f"{item.backlog.count}{age}"


def debt_table(report: DebtReport) -> RenderableType:
    """One row per integration, worst first."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"Integration debt as of {report.today} - overall score {report.score}/100",
        title_justify="left",
    )
    for column in ("integration", "kind", "owner", "cadence", "stage", "expires", "backlog"):
        table.add_column(column, no_wrap=True)
    table.add_column("ready", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    for item in report.integrations:
        applicable = [check for check in item.checklist if check.status != "n/a"]
        passed = sum(check.status == "pass" for check in applicable)
        table.add_row(
            Text(item.name),
            item.kind,
            Text(item.owner),
            Text(_cadence(item), style="" if _cadence(item) == item.cadence else "yellow"),
            Text(item.stage),
            Text(_expiry(item), style="bold red" if (item.days_left or 0) < 0 else ""),
            Text(_backlog(item), style="" if item.backlog.count == 0 else "yellow"),
            Text(f"{passed}/{len(applicable)}", style="green" if item.ready else ""),
            Text(str(item.score), style=_score_style(item.score)),
        )
    return table


def print_report(report: DebtReport, console: Console) -> None:
    """The table, then each integration's findings (biggest first), then the notes."""
    from rich.text import Text

    console.print(debt_table(report))
    for item in report.integrations:
        if not item.findings:
            continue
        console.print(Text(f"\n{item.name} ({item.kind}) - {item.score}", style="bold"))
        for finding in sorted(item.findings, key=lambda f: -f.points):
            console.print(Text(f"  +{finding.points:<3} {finding.category:<10} {finding.message}"))
    for note in report.notes:
        console.print(Text(f"note: {note}", style="yellow"))
    worst = report.worst()
    summary = (
        f"\n{len(report.integrations)} integrations, {report.ready_count()} ready to migrate; "
        f"overall score {report.score}/100 (the mean)"
    )
    if worst is not None:
        summary += f"; worst: {worst.name} ({worst.score})"
    console.print(Text(summary))


__all__ = ["debt_table", "print_report", "render_json"]
