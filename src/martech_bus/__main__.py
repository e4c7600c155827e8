"""``python -m martech_bus`` runs the CLI."""

from martech_bus.cli.main import run

run()
