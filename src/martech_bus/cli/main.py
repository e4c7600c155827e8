"""Entry point of the ``martech-bus`` command."""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort, Exit, TyperException

from martech_bus._version import __version__
from martech_bus.cli import (
    alerts,
    bus,
    connector,
    contract,
    debt,
    dev,
    dlq,
    flag,
    gateway,
    mapping,
    new,
    schema,
    shadow,
)
from martech_bus.cli.output import EXIT_BAD_INPUT, show_error
from martech_bus.errors import MartechBusError

app = typer.Typer(
    name="martech-bus",
    help="Sprint vendor integrations without debt; move them onto the Kafka bus by flipping a flag.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(schema.app, name="schema")
app.add_typer(mapping.app, name="mapping")
app.add_typer(bus.app, name="bus")
app.add_typer(dlq.app, name="dlq")
app.add_typer(dev.app, name="dev")
app.add_typer(flag.app, name="flag")
app.add_typer(connector.app, name="connector")
app.add_typer(gateway.app, name="gateway")
app.command("debt")(debt.debt)
app.add_typer(shadow.app, name="shadow")
app.add_typer(alerts.app, name="alerts")
app.command("contract-test")(contract.contract_test)
app.add_typer(new.app, name="new")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"martech-bus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", callback=_show_version, is_eager=True
    ),
) -> None:
    """Sprint vendor integrations without debt; move them onto the Kafka bus by flipping a flag."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 1 a check failed, 2 bad input or usage)."""
    try:
        result = app(args=argv, prog_name="martech-bus", standalone_mode=False)
    except Exit as exc:
        return exc.exit_code
    except TyperException as exc:  # usage errors and the like (typer ships its own click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"Error: {exc.format_message()}", err=True)
        return exc.exit_code
    except Abort:
        typer.echo("Aborted.", err=True)
        return 1
    except MartechBusError as exc:
        show_error(exc)
        return EXIT_BAD_INPUT
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
