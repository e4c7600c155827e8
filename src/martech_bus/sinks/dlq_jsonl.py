"""JSON-lines dead-letter store: one append-only file, one record per line.

Why append-only: a line is never rewritten, so a crash can at worst leave one
torn last line (skipped with a warning) and never damages records already
written; appends from several processes interleave whole lines (``O_APPEND``,
one ``write`` per line); and the file is easy to ship, tail and grep.
``mark_replayed`` therefore appends the updated record and ``delete`` appends a
tombstone ``{"deleted": "<id>"}``: the reader folds the lines, the last one per
id wins. Reads cost a pass over the file; ``compact()`` rewrites it without the
superseded lines (run it while no other process writes).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from martech_bus.sinks.dlq import DeadLetter, DeadLetterStore, Now, Query
from martech_bus.sqlite import data_file

DEFAULT_FILE: Final = "dlq.jsonl"
log = logging.getLogger(__name__)


class JsonlDeadLetterStore(DeadLetterStore):
    """Dead letters in a JSON-lines file (``path`` defaults to ``<data_dir>/dlq.jsonl``)."""

    def __init__(
        self, path: str | Path | None = None, *, fsync: bool = True, clock: Now | None = None
    ) -> None:
        super().__init__(clock=clock)
        self.path = Path(data_file(path, DEFAULT_FILE))
        self.fsync = fsync
        self._lock = threading.RLock()  # _remove appends while holding it
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _insert(self, record: DeadLetter, body: str) -> None:
        self._append(body)

    def _scan(self, query: Query) -> Iterable[str]:
        return self._fold().values()

    def _read(self, record_id: str) -> str | None:
        return self._fold().get(record_id)

    def _remove(self, record_id: str) -> bool:
        with self._lock:  # no append may slip between the check and the tombstone
            if record_id not in self._fold():
                return False
            self._append(json.dumps({"deleted": record_id}))
        return True

    def compact(self) -> None:
        """Rewrite the file with only the current records (atomically, by rename)."""
        with self._lock:
            bodies = self._fold()
            temporary = self.path.with_name(self.path.name + ".compacting")
            with temporary.open("w", encoding="utf-8") as out:
                out.writelines(f"{body}\n" for body in bodies.values())
                out.flush()
                os.fsync(out.fileno())
            temporary.replace(self.path)

    def _append(self, line: str) -> None:
        data = line.encode("utf-8") + b"\n"
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(fd).st_size
                # After a torn write, start on a fresh line rather than extend the broken one.
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                os.write(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def _fold(self) -> dict[str, str]:
        """id -> the body of its last line, without deleted ids."""
        bodies: dict[str, str] = {}
        try:
            handle = self.path.open(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return bodies
        with self._lock, handle:  # our own appends never show up half-written
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    entry = json.loads(line)
                    if "deleted" in entry:
                        bodies.pop(entry["deleted"], None)
                    else:
                        bodies[entry["id"]] = line
                except (ValueError, KeyError, TypeError):
                    log.warning(
                        "%s:%d: skipping an unreadable line (a torn write?)", self.path, number
                    )
        return bodies
