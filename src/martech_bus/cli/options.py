"""Options several commands take, declared once so each reads and defaults the same everywhere."""

from __future__ import annotations

from enum import StrEnum

import typer


class Format(StrEnum):
    """How a report is printed: a terminal table, or JSON for a pipe."""

    TABLE = "table"
    JSON = "json"


FormatOption = typer.Option(Format.TABLE, "--format", help="Terminal table or JSON.")

SchemasOption = typer.Option(
    None,
    "--schemas",
    metavar="DIR",
    help="Catalogue directory (default: $MARTECH_BUS_SCHEMAS_DIR, else ./schemas).",
    show_default=False,
)
AdaptersOption = typer.Option(
    None,
    "--adapters",
    metavar="DIR",
    help="Adapters directory (default: $MARTECH_BUS_ADAPTERS_DIR, else ./adapters).",
    show_default=False,
)
SourcesOption = typer.Option(
    None,
    "--sources",
    metavar="DIR",
    help="Inbound sources directory (default: $MARTECH_BUS_SOURCES_DIR, else ./sources).",
    show_default=False,
)
FlagsOption = typer.Option(
    None,
    "--flags",
    metavar="SETTING",
    help="Flag store: yaml[:PATH], env, ssm:/PREFIX or memory "
    "(default: $MARTECH_BUS_FLAGS, else yaml: ./flags.yaml).",
    show_default=False,
)
DlqOption = typer.Option(
    None,
    "--dlq",
    metavar="SETTING",
    help="Dead-letter store: sqlite[:PATH], jsonl[:PATH], memory or sqs:URL "
    "(default: $MARTECH_BUS_DLQ, else sqlite).",
    show_default=False,
)
QuarantineOption = typer.Option(
    None,
    "--quarantine",
    metavar="SETTING",
    help="Quarantine store: sqlite[:PATH] or memory (default: $MARTECH_BUS_QUARANTINE, else sqlite).",
    show_default=False,
)
