"""Read canonical events from a file: one JSON object, a JSON array, or JSON lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from martech_bus.errors import Location, ValidationError


@dataclass(frozen=True, slots=True)
class SourcedEvent:
    """An event as read, with where it came from (file and line) for error messages."""

    event: Any
    location: Location


def read_events(path: str | Path) -> list[SourcedEvent]:
    """Events in ``path``; a syntax error names the file, line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"cannot read events file: {exc}", location=Location(file=str(p))
        ) from None
    return parse_events(text, file=str(p))


def parse_events(text: str, *, file: str | None = None) -> list[SourcedEvent]:
    """Events in ``text`` (object, array or JSON lines)."""
    if not text.strip():
        raise ValidationError("no events: the input is empty", location=Location(file=file))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2 or text.lstrip().startswith("["):
            raise _syntax_error(exc, file, 0) from None
        return _parse_json_lines(text, file)
    first_line = text[: len(text) - len(text.lstrip())].count("\n") + 1
    if isinstance(value, list):
        return [
            SourcedEvent(item, Location(file=file, line=first_line, path=f"[{i}]"))
            for i, item in enumerate(value)
        ]
    return [SourcedEvent(value, Location(file=file, line=first_line))]


def _parse_json_lines(text: str, file: str | None) -> list[SourcedEvent]:
    events = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(SourcedEvent(json.loads(line), Location(file=file, line=number)))
        except json.JSONDecodeError as exc:
            raise _syntax_error(exc, file, number - 1) from None
    return events


def _syntax_error(exc: json.JSONDecodeError, file: str | None, line_offset: int) -> ValidationError:
    return ValidationError(
        f"invalid JSON: {exc.msg}",
        location=Location(file=file, line=exc.lineno + line_offset, column=exc.colno),
    )
