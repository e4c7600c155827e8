"""Terminal output shared by every command: one console, one way to show errors."""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console

from martech_bus.errors import MartechBusError

# Piped output (CI logs, tests) gets a wide fixed width rather than rich's 80 columns,
# so tables keep event names whole; a terminal keeps its own width.
_PIPED_WIDTH = 140


def _console(*, stderr: bool) -> Console:
    made = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not made.is_terminal and "COLUMNS" not in os.environ:
        made.width = _PIPED_WIDTH
    return made


console = _console(stderr=False)
err_console = _console(stderr=True)

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


def show_error(error: MartechBusError) -> None:
    """Print a user-facing error: the message and each problem, never a traceback."""
    err_console.print(
        f"[bold red]error:[/] {error.location.render() + ': ' if error.location.render() else ''}{error.message}",
        markup=True,
    )
    for problem in error.problems:
        err_console.print(f"  - {problem}", markup=False)


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON (Decimal and datetime as strings)."""
    console.print_json(json.dumps(value, default=str, ensure_ascii=False), highlight=False)
