"""``martech-bus new ...``: scaffold an adapter or a canonical event that passes the checks at once."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer

from martech_bus.cli.options import AdaptersOption, SchemasOption
from martech_bus.cli.output import EXIT_CHECK_FAILED, console
from martech_bus.config import Paths
from martech_bus.errors import ConfigError

app = typer.Typer(
    help="Scaffold a vendor adapter or a canonical event that passes the contract checks at once.",
    no_args_is_help=True,
)

#: How long a new integration lives by default before it must move onto the bus or be extended.
DEFAULT_LIFETIME = {"sprint": timedelta(days=90), "hybrid": timedelta(days=180)}


def _interactive() -> bool:
    """Ask only a person: CI has no terminal on stdin, and a prompt there would hang or fail."""
    return sys.stdin.isatty()


def _today() -> date:
    return datetime.now(UTC).date()


def _ask(value: str | None, question: str, default: str | None = None) -> str | None:
    if value is not None or not _interactive():
        return value if value is not None else default
    answer: str = typer.prompt(question, default=default) if default else typer.prompt(question)
    return answer.strip()


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a date written YYYY-MM-DD, got {value!r}") from None


@app.command("adapter")
def adapter(
    vendor: str = typer.Argument(..., help="The adapter's name and folder, e.g. acme."),
    event: str = typer.Option(
        "order_completed", "--event", help="The canonical event the first mapping maps."
    ),
    owner: str | None = typer.Option(None, "--owner", help="The team that answers for it."),
    contact: str | None = typer.Option(None, "--contact", help="How to reach that team."),
    cadence: str | None = typer.Option(
        None, "--cadence", help="sprint, hybrid or marathon (default: sprint).", show_default=False
    ),
    expires_on: str | None = typer.Option(
        None,
        "--expires-on",
        help="YYYY-MM-DD (default: 90 days from today for a sprint, 180 for a hybrid).",
        show_default=False,
    ),
    migration_plan: str | None = typer.Option(
        None, "--migration-plan", help="Link to the plan for moving onto the bus (sprint, hybrid)."
    ),
    runbook: str | None = typer.Option(None, "--runbook", help="Link to the runbook."),
    display_name: str | None = typer.Option(
        None, "--display-name", help="The vendor's name for people (default: from VENDOR)."
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="The vendor's API URL (default: a placeholder to replace)."
    ),
    consent: str = typer.Option(
        "marketing", "--consent", help="Consent purposes the vendor needs, comma-separated."
    ),
    adapters: Path | None = AdaptersOption,
    schemas: Path | None = SchemasOption,
) -> None:
    """Scaffold adapters/VENDOR: manifest, mapping template, fixtures, payload schema, handler.py.

    Values missing from the flags are asked for on a terminal; without one (CI) the
    defaults apply and a missing required value is an error.
    """
    from martech_bus.scaffold.adapter import AdapterPlan, scaffold_adapter
    from martech_bus.schema.registry import SchemaRegistry

    paths = Paths.resolve(schemas_dir=schemas, adapters_dir=adapters)
    registry = SchemaRegistry.load(paths.schemas_dir)
    owner = _ask(owner, "Owning team")
    contact = _ask(contact, "Contact (e.g. a team address)")
    chosen = _ask(cadence, "Cadence (sprint, hybrid, marathon)", "sprint") or "sprint"
    expiry, plan_link = expires_on, migration_plan
    lifetime = DEFAULT_LIFETIME.get(chosen)
    if lifetime is not None:  # a marathon is not temporary: nothing to ask
        default_expiry = (_today() + lifetime).isoformat()
        expiry = _ask(expires_on, "Expires on (YYYY-MM-DD)", default_expiry)
        plan_link = _ask(migration_plan, "Migration plan (a link)")
    runbook = _ask(runbook, "Runbook (a link)")
    missing = [
        flag
        for flag, value in (
            ("--owner", owner),
            ("--contact", contact),
            ("--runbook", runbook),
            ("--migration-plan", plan_link if chosen in DEFAULT_LIFETIME else "-"),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"missing {', '.join(missing)}: every integration says who owns it and how it is run"
            + ("" if _interactive() else " (stdin is not a terminal, so nothing can be asked)")
        )
    assert owner and contact and runbook  # checked just above
    plan = AdapterPlan(
        vendor=vendor,
        event=event,
        owner=owner,
        contact=contact,
        cadence=chosen,
        runbook=runbook,
        expires_on=_date(expiry, "--expires-on"),
        migration_plan=plan_link,
        display_name=display_name,
        endpoint=endpoint,
        consent=tuple(p.strip() for p in consent.split(",") if p.strip()),
    )
    made = scaffold_adapter(plan, paths.adapters_dir, registry, today=_today())
    for name in made.files:
        console.print(f"  created {made.folder / name}", markup=False, highlight=False)
    passed = _contract_of(made.folder, paths.schemas_dir)
    folder = made.folder
    console.print(
        f"\n[green]adapter {vendor!r} is ready[/]: its {passed} contract checks pass.\nNext:\n"
        f"  1. Point the endpoint in {folder / 'adapter.yaml'} at the vendor's API (url, auth, batch)"
        f" and score its governance block.\n"
        f"  2. Shape the body in {folder / 'mappings' / f'{event}.yaml'} as the vendor documents it.\n"
        f"  3. Re-render each expected body and review it, e.g.\n"
        f"     martech-bus mapping render {vendor} {folder / 'fixtures' / f'{event}_full.input.json'}"
        f" > {folder / 'fixtures' / f'{event}_full.expected.json'}\n"
        f"  4. Write {folder / 'payload.schema.json'} from the vendor's API reference.\n"
        f"  5. Run martech-bus contract-test (or pytest) until it passes, then open a pull request.",
        highlight=False,
    )


def _contract_of(folder: Path, schemas_dir: Path) -> int:
    """Run the new adapter's contract checks; how many passed (exit 1 if any failed)."""
    from martech_bus.contract import Contract, ContractRoots

    contract = Contract(ContractRoots(schemas_dir, folder.parent, None))
    results = contract.run(c for c in contract.checks() if c.folder == folder)
    failed = [r for r in results if not r.passed]
    for result in failed:
        console.print(f"[red]FAILED[/] {result.id}\n{result.message}", highlight=False)
    if failed:
        raise typer.Exit(EXIT_CHECK_FAILED)
    return len(results)


@app.command("event")
def event(
    name: str = typer.Argument(..., help="The event type, e.g. order_refunded."),
    description: str | None = typer.Option(
        None, "--description", help="What happened, in one line."
    ),
    owner: str | None = typer.Option(
        None, "--owner", help="The owning team (default: registry.yaml's default)."
    ),
    compatibility: str | None = typer.Option(
        None, "--compatibility", help="Compatibility mode (default: registry.yaml's default)."
    ),
    properties: list[str] | None = typer.Option(
        None,
        "--property",
        help="NAME:TYPE (NAME:TYPE? when optional); TYPE is string, int, long, double, boolean, "
        "decimal, currency, timestamp or uuid. Repeatable.",
    ),
    schemas: Path | None = SchemasOption,
) -> None:
    """Scaffold schemas/NAME/v1.avsc (the envelope plus its properties) and list it in registry.yaml."""
    from martech_bus.scaffold.event import scaffold_event

    directory = Paths.resolve(schemas_dir=schemas).schemas_dir
    made = scaffold_event(
        name,
        directory,
        description=_ask(description, "What happened, in one line"),
        owner=owner,
        compatibility=compatibility,
        properties=properties or [],
    )
    console.print(f"  created {made.folder / 'v1.avsc'}", markup=False, highlight=False)
    console.print(
        f"  listed {name} in {directory / 'registry.yaml'}", markup=False, highlight=False
    )
    console.print(
        f"\n[green]event {name!r} is ready[/].\nNext:\n"
        f"  1. Give it its own fields under properties in {made.folder / 'v1.avsc'} (or --property):"
        " once merged, a version never changes.\n"
        "  2. Run martech-bus contract-test (or martech-bus schema check).\n"
        f"  3. Map it for a vendor: martech-bus new adapter VENDOR --event {name}",
        highlight=False,
    )
