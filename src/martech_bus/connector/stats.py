"""What one connector process did: counts, its partitions, and when it worked (for logs and files)."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from martech_bus.connector.decoding import Resolution
from martech_bus.connector.offsets import PartitionKey


@dataclass
class ConnectorStats:
    """Counters of one connector; ``finished`` records may have their offsets committed."""

    adapter: str
    group: str
    pid: int = field(default_factory=os.getpid)
    fetched: int = 0
    delivered: int = 0
    skipped: int = 0  # by the pipeline (consent, unmapped) or by route (direct, dual)
    shadowed: int = 0  # rendered and diffed against the direct path, not sent (shadow mode)
    dead_lettered: int = 0  # by the pipeline: mapping failures, terminal vendor errors
    invalid: int = 0  # decoded, yet not a valid event (dead-lettered by the pipeline)
    undecodable: int = 0  # dead-lettered raw: bad magic byte, unknown schema id, truncated
    retried: int = 0  # records sent through the pipeline again after a backoff
    pauses: int = 0  # partitions paused for a backoff
    resumes: int = 0
    commits: int = 0
    assignments: int = 0
    revocations: int = 0
    waiting: int = 0  # records held for a retry right now
    assigned: set[PartitionKey] = field(default_factory=set)
    ever_assigned: set[PartitionKey] = field(default_factory=set)
    decoded: Counter[Resolution] = field(default_factory=Counter)
    first_fetch_at: float | None = None  # epoch seconds
    last_finish_at: float | None = None

    @property
    def finished(self) -> int:
        """Records with nothing left to do: delivered, skipped or dead-lettered."""
        return (
            self.delivered
            + self.skipped
            + self.shadowed
            + self.dead_lettered
            + self.invalid
            + self.undecodable
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: partitions as ``topic:partition``, resolutions as ``subject vW->vR``."""
        counts = {
            name: getattr(self, name)
            for name in (
                "fetched",
                "delivered",
                "skipped",
                "shadowed",
                "dead_lettered",
                "invalid",
                "undecodable",
                "retried",
                "pauses",
                "resumes",
                "commits",
                "assignments",
                "revocations",
                "waiting",
            )
        }
        return {
            "adapter": self.adapter,
            "group": self.group,
            "pid": self.pid,
            **counts,
            "finished": self.finished,
            "assigned": sorted(f"{topic}:{partition}" for topic, partition in self.assigned),
            "ever_assigned": sorted(f"{t}:{p}" for t, p in self.ever_assigned),
            "decoded": {f"{s} v{w}->v{r}": n for (s, w, r), n in sorted(self.decoded.items())},
            "first_fetch_at": self.first_fetch_at,
            "last_finish_at": self.last_finish_at,
        }

    def write(self, path: str | Path) -> None:
        """Write ``as_dict()`` to ``path`` atomically (a reader never sees half a file)."""
        target = Path(path)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")
        partial.replace(target)
