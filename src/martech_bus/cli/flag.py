"""``martech-bus flag ...``: migration flags: list, show, set, roll back, check expiry."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table
from rich.text import Text

from martech_bus.cli.options import FlagsOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console, err_console, show_error
from martech_bus.errors import ConfigError
from martech_bus.routing.flags import Flag, Setting, check_integration, format_percent, nag
from martech_bus.routing.modes import parse_mode
from martech_bus.routing.store import KEEP, FlagConflictError, FlagStore, flag_store

app = typer.Typer(
    help="Migration flags: route each integration direct, dual, shadow or over the bus.",
    no_args_is_help=True,
)

WhoOption = typer.Option(
    None, "--who", help="Who is flipping (default: $USER, else the login name).", show_default=False
)


def _store(flags: str | None) -> FlagStore:
    return flag_store(flags, ttl=0)  # a command reads once; never act on a cached flag


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        err_console.print(Text(f"warning: {warning}", style="yellow"))


def _expires(flag: Flag, today: date) -> Text:
    if flag.expires_on is None:
        return Text("-")
    if flag.expired(today):
        return Text(f"{flag.expires_on} (expired)", style="bold red")
    return Text(flag.expires_on.isoformat())


@app.command("list")
def list_flags(flags: str | None = FlagsOption) -> None:
    """List every flag: its mode or rollout, end date and owner (expired dates in red)."""
    store = _store(flags)
    found, today = store.list(), store.today()
    table = Table(title=f"{len(found)} flag{'s' * (len(found) != 1)} ({store.name})")
    for column in ("integration", "mode / rollout", "percent", "expires_on", "owner", "version"):
        table.add_column(column, no_wrap=True)
    for flag in found:
        setting = flag.setting
        table.add_row(
            flag.integration,
            setting.mode.value if setting.to is None else f"{setting.mode} -> {setting.to}",
            format_percent(setting.percent) if setting.to is not None else "100",
            _expires(flag, today),
            Text(flag.owner or "-"),
            str(flag.version),
        )
    console.print(table)
    _warn(nag(found, today))


@app.command("show")
def show(
    integration: str = typer.Argument(..., help="<vendor> or <source>:<vendor>, e.g. braze."),
    limit: int = typer.Option(10, "--limit", help="How many audit entries to show.", min=1),
    flags: str | None = FlagsOption,
) -> None:
    """Show one flag and its most recent flips from the audit trail."""
    check_integration(integration)
    store = _store(flags)
    flag = store.get(integration)
    if flag is None:
        vendor = integration.rpartition(":")[2]
        fallback = store.get(vendor) if vendor != integration else None
        if fallback is not None:
            console.print(
                f"{integration}: no flag of its own; routed by {vendor}: {fallback.setting.describe()}",
                markup=False,
            )
        else:
            console.print(f"{integration}: no flag; routed direct (the default)", markup=False)
    else:
        _show_flag(flag, store.today())
    history = store.history(integration, limit)
    if not history:
        console.print(f"no recorded flips in {store.audit_name()}", markup=False)
        return
    table = Table(title=f"last {len(history)} flip{'s' * (len(history) != 1)}")
    for column in ("when", "who", "action", "from", "to", "version"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason")
    for entry in history:
        table.add_row(
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(entry.who),
            entry.action,
            "-" if entry.before is None else entry.before.compact(),
            entry.after.compact(),
            str(entry.version),
            Text(entry.reason),
        )
    console.print(table)


def _show_flag(flag: Flag, today: date) -> None:
    setting = flag.setting
    rows = [
        ("integration", Text(flag.integration)),
        ("setting", Text(setting.describe())),
        ("salt", Text(setting.salt)) if setting.to is not None else None,
        ("expires_on", _expires(flag, today)),
        ("owner", Text(flag.owner or "-")),
        ("reason", Text(flag.reason or "-")),
        ("version", Text(str(flag.version))),
    ]
    for row in rows:
        if row is not None:
            console.print(Text(f"{row[0]:<12} ").append_text(row[1]))
    _warn(flag.warnings(today))


@app.command("set")
def set_flag(
    integration: str = typer.Argument(..., help="<vendor> or <source>:<vendor>, e.g. braze."),
    mode: str = typer.Argument(
        ..., help="direct, dual, shadow or bus; alone it routes everyone that way."
    ),
    to: str | None = typer.Option(
        None, "--to", help="Roll out to this mode: --percent of users move from MODE to it."
    ),
    percent: float | None = typer.Option(
        None, "--percent", help="Share of users (0-100) on the --to mode; sticky per user."
    ),
    reason: str = typer.Option(..., "--reason", help="Why (required; kept in the audit trail)."),
    who: str | None = WhoOption,
    owner: str | None = typer.Option(
        None, "--owner", help="Who answers for the flag (default: unchanged)."
    ),
    expires: str | None = typer.Option(
        None,
        "--expires",
        help="When this temporary setting should be gone, YYYY-MM-DD, or 'none' (default: unchanged).",
    ),
    flags: str | None = FlagsOption,
) -> None:
    """Flip an integration to a mode, or to a sticky rollout between two modes."""
    check_integration(integration)
    if to is None and percent is None:
        new = Setting(parse_mode(mode))
    elif to is not None and percent is not None:
        new = Setting(parse_mode(mode), parse_mode(to), percent)
    else:
        raise ConfigError("a rollout needs both --to MODE and --percent P (MODE alone is 100%)")
    store = _store(flags)
    current = store.get(integration)
    if current is None:
        _check_known(integration, store)
    try:
        saved = store.set(
            integration,
            new,
            reason=reason,
            who=who,
            owner=KEEP if owner is None else owner,
            expires_on=KEEP if expires is None else _date(expires),
            expected_version=0 if current is None else current.version,
        )
    except FlagConflictError as exc:
        show_error(exc)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    before = "no flag" if current is None else current.setting.describe()
    console.print(
        f"{integration}: now {saved.setting.describe()} "
        f"(was {before}; version {saved.version}, {store.name})",
        markup=False,
    )
    _warn(saved.warnings(store.today()))


@app.command("rollback")
def rollback(
    integration: str = typer.Argument(..., help="<vendor> or <source>:<vendor>, e.g. braze."),
    reason: str | None = typer.Option(
        None, "--reason", help="Why (default: which flip it undoes)."
    ),
    who: str | None = WhoOption,
    flags: str | None = FlagsOption,
) -> None:
    """Undo the last flip not yet rolled back (from the audit trail); recorded as a flip."""
    check_integration(integration)
    store = _store(flags)
    current = store.get(integration)
    try:
        saved = store.rollback(integration, reason=reason, who=who)
    except FlagConflictError as exc:
        show_error(exc)
        raise typer.Exit(EXIT_CHECK_FAILED) from None
    before = "no flag" if current is None else current.setting.describe()
    console.print(
        f"{integration}: rolled back to {saved.setting.describe()} "
        f"(was {before}; version {saved.version}, {store.name})",
        markup=False,
    )


@app.command("check")
def check(flags: str | None = FlagsOption) -> None:
    """Exit 1 when a flag outlived its expires_on or is transitional without one (for CI)."""
    store = _store(flags)
    warnings = store.nag()
    if warnings:
        _warn(warnings)
        raise typer.Exit(EXIT_CHECK_FAILED)
    console.print(f"no flag needs attention ({store.name})", markup=False)


def _date(text: str) -> date | None:
    if text.strip().lower() == "none":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--expires {text!r} is not a date (YYYY-MM-DD) or 'none'") from None


def _check_known(integration: str, store: FlagStore) -> None:
    """Refuse a first flip of an integration nobody knows: it is most likely a typo."""
    from martech_bus.config import Paths
    from martech_bus.mapping.hints import did_you_mean

    vendor = integration.rpartition(":")[2]
    known = {flag.integration for flag in store.list()}
    vendors = {name.rpartition(":")[2] for name in known}
    adapters = Paths.resolve().adapters_dir
    if adapters.is_dir():
        vendors |= {path.name for path in adapters.iterdir() if (path / "adapter.yaml").is_file()}
    if vendor in vendors:
        return
    raise ConfigError(
        f"unknown integration {integration!r}{did_you_mean(integration, known | vendors)}: "
        f"{vendor!r} is neither an adapter in {adapters} nor a vendor with a flag"
    )
