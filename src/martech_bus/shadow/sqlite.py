"""SQLite shadow store: the embedded default, one file under ``MARTECH_BUS_DATA_DIR``."""

from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any, Final

from martech_bus.shadow.diff import FieldDifference
from martech_bus.shadow.store import ShadowRecord, ShadowStore
from martech_bus.sqlite import Database, data_file

DEFAULT_FILE: Final = "shadow.sqlite3"
SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS shadow (
    integration TEXT NOT NULL,
    event_id TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (integration, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shadow_recorded ON shadow (integration, recorded_at)
"""
_PUT: Final = (
    "INSERT OR REPLACE INTO shadow (integration, event_id, recorded_at, record) VALUES (?, ?, ?, ?)"
)


class SqliteShadowStore(ShadowStore):
    """Records as JSON rows (``path`` defaults to ``<data_dir>/shadow.sqlite3``)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = data_file(path, DEFAULT_FILE)
        # A lost shadow record costs one sample of a report: NORMAL durability is enough.
        self._db = Database(self.path, schema=SCHEMA, synchronous="NORMAL")

    def _put(self, record: ShadowRecord) -> None:
        row = (record.integration, record.event_id, record.recorded_at, _dump(record))
        with self._db.transaction() as conn:
            conn.execute(_PUT, row)

    def list(self, integration: str, *, since: float | None = None) -> list[ShadowRecord]:
        query = "SELECT record FROM shadow WHERE integration = ? AND recorded_at >= ?"
        with self._db.reading() as conn:
            rows = conn.execute(
                query + " ORDER BY recorded_at", (integration, since or 0.0)
            ).fetchall()
        return [_load(text) for (text,) in rows]

    def integrations(self) -> builtins.list[str]:
        with self._db.reading() as conn:
            rows = conn.execute("SELECT DISTINCT integration FROM shadow ORDER BY 1").fetchall()
        return [name for (name,) in rows]

    def close(self) -> None:
        self._db.close()


def _dump(record: ShadowRecord) -> str:
    value: dict[str, Any] = {
        "integration": record.integration,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "matched": record.matched,
        "recorded_at": record.recorded_at,
        "differences": [d.as_dict() for d in record.differences],
        "direct_skipped": record.direct_skipped,
        "bus_skipped": record.bus_skipped,
        "direct_mapping_version": record.direct_mapping_version,
        "bus_mapping_version": record.bus_mapping_version,
        "extra": record.extra,
    }
    return json.dumps(value, default=str)


def _load(text: str) -> ShadowRecord:
    value = json.loads(text)
    value["differences"] = tuple(FieldDifference(**d) for d in value["differences"])
    return ShadowRecord(**value)


__all__ = ["DEFAULT_FILE", "SqliteShadowStore"]
