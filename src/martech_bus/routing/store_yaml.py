"""YAML flag store: the embedded default, ``flags.yaml`` next to the adapters.

The file is read strictly (duplicate integrations, unknown modes and fields, bad
percents and unquoted dates are refused with file:line). A flip rewrites the
whole file in one canonical form: the standard header, integrations sorted,
fields in a fixed order, text double-quoted. So the diff of a flip in review is
the flipped entry and nothing else, and every other flag is kept as it was read.
Comments other than the header are not kept: the why belongs in ``reason``.

The version check on a flip guards against stale reads within this process and
against the file changing between the read and the write; it is not a lock
between processes (the file is under review in git; flip production from SSM).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Unpack

from martech_bus.routing.flags import Flag, flags_from_tree
from martech_bus.routing.store import DEFAULT_FILE, FlagConflictError, FlagStore, StoreOptions

HEADER: Final = """\
# Migration flags: how each integration's events are routed (docs/migration.md).
#
# <vendor> (every source) or "<source>:<vendor>" (one source; it wins over <vendor>):
#   mode: direct | dual | shadow | bus
#   to: <mode>, percent: 0-100   a sticky rollout: that share of users moves from mode to to
#   expires_on: "YYYY-MM-DD"     when this temporary setting should be gone (it nags after)
#   owner, reason                who answers for the flag, and why it is set this way
#   version                      bumped by every flip (`martech-bus flag set`)
#
# `martech-bus flag set` rewrites this file sorted, with this header; other comments are
# not kept. Hand edits are fine: the file is read strictly.
"""


class YamlFlagStore(FlagStore):
    """Flags in a YAML file; ``missing_ok``: a missing file holds no flags (else an error)."""

    def __init__(
        self,
        path: str | Path = DEFAULT_FILE,
        *,
        missing_ok: bool = False,
        **options: Unpack[StoreOptions],
    ) -> None:
        super().__init__(**options)
        self.path = Path(path)
        self.missing_ok = missing_ok
        self.name = f"yaml:{path}"
        self._lock = threading.Lock()

    def _load(self) -> dict[str, Flag]:
        from martech_bus.yamlfile.loader import read_yaml_file  # PyYAML only when a file is read

        if self.missing_ok and not self.path.exists():
            return {}
        return flags_from_tree(read_yaml_file(self.path), file=str(self.path))

    def _read(self, integration: str) -> Flag | None:
        return self._load().get(integration)

    def _read_all(self) -> list[Flag]:
        return list(self._load().values())

    def _write(self, flag: Flag, expected_version: int) -> Flag:
        with self._lock:
            flags = self._load()
            stored = flags.get(flag.integration)
            found = 0 if stored is None else stored.version
            if found != expected_version:
                raise FlagConflictError(
                    f"{self.path}: {flag.integration} changed while flipping it (version "
                    f"{found}, expected {expected_version}); look again and retry"
                )
            saved = dataclasses.replace(flag, version=found + 1)
            flags[flag.integration] = saved
            _replace(self.path, render(flags.values()))
            return saved


def render(flags: Any) -> str:
    """The canonical file text for ``flags`` (an iterable of Flag)."""
    lines = [HEADER.rstrip("\n")]
    ordered = sorted(flags, key=lambda flag: flag.integration)
    if not ordered:
        lines.append("flags: {}")
    else:
        lines.append("flags:")
    for flag in ordered:
        lines.append(f"  {_key(flag.integration)}:")
        for name, value in [*flag.fields().items(), ("version", flag.version)]:
            lines.append(f"    {name}: {_scalar(name, value)}")
    return "\n".join(lines) + "\n"


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _key(integration: str) -> str:
    return _quote(integration) if ":" in integration else integration


def _scalar(name: str, value: object) -> str:
    if name in ("mode", "to"):
        return str(value)  # a mode name: plain, as people write it
    if isinstance(value, bool):  # never written, but bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:  # the strict reader takes positional notation only: write it out exactly
            text = format(Decimal(text), "f")
        return text if "." in text else text + ".0"
    return _quote(str(value))


def _printable(code: int) -> bool:
    """In YAML's printable set, and not a character YAML 1.1 reads as a line break."""
    return (
        code == 0x09
        or 0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xFFFD and code not in (0x2028, 0x2029) and not 0xD800 <= code < 0xE000)
        or code >= 0x10000
    )


def _quote(text: str) -> str:
    """A double-quoted YAML scalar that reads back as exactly ``text``."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif _printable(code):
            out.append(char)
        elif code == 0x0A:
            out.append("\\n")
        else:
            out.append(f"\\u{code:04x}")
    out.append('"')
    return "".join(out)
