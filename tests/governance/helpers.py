"""Building debt reports in tests: the repository's integrations and in-memory stores."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from martech_bus.adapter import Adapter, find_adapters
from martech_bus.gateway.quarantine import MemoryQuarantineStore, QuarantinedItem
from martech_bus.gateway.sources import InboundSource, find_sources
from martech_bus.governance import DebtReport, IntegrationDebt, collect_debt
from martech_bus.routing import Flag, MemoryFlagStore, parse_setting
from martech_bus.sinks.dlq import DeadLetter
from martech_bus.sinks.dlq_memory import MemoryDeadLetterStore

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, tzinfo=UTC)


@cache
def repo_adapters() -> tuple[Adapter, ...]:
    return tuple(find_adapters(ROOT / "adapters"))


@cache
def repo_sources() -> tuple[InboundSource, ...]:
    return tuple(find_sources(ROOT / "sources").values())


def flags(*settings: tuple[str, str], owner: str | None = "team", **extra: Any) -> MemoryFlagStore:
    """A memory store holding ``(integration, compact setting)`` flags, none ever flipped."""
    return MemoryFlagStore(
        [Flag(name, parse_setting(text), owner=owner, **extra) for name, text in settings],
        clock=NOW.timestamp,
    )


def dead_letters(vendor: str, ages_in_days: Iterable[float]) -> MemoryDeadLetterStore:
    store = MemoryDeadLetterStore()
    for n, age in enumerate(ages_in_days):
        store.put(
            DeadLetter(
                id=f"dl-{vendor}-{n}",
                event_id=f"00000000-0000-4000-8000-{n:012d}",
                vendor=vendor,
                mapping_version=1,
                event={"event_type": "order_completed"},
                reason="HTTP 400",
                dead_lettered_at=NOW - timedelta(days=age),
            )
        )
    return store


def quarantined(source: str, ages_in_days: Iterable[float]) -> MemoryQuarantineStore:
    store = MemoryQuarantineStore()
    for n, age in enumerate(ages_in_days):
        received = (NOW - timedelta(days=age)).timestamp()
        store.put(
            QuarantinedItem(
                record_id=f"rec-{n}",
                source=source,
                payload=b"{}",
                received_at=received,
                quarantined_at=NOW.timestamp(),  # re-quarantined today: the age is the payload's
                reason="no route",
            )
        )
    return store


def report(**overrides: Any) -> DebtReport:
    """The repository's integrations as of TODAY, with empty stores unless overridden."""
    arguments: dict[str, Any] = {
        "today": TODAY,
        "now": NOW,
        "docs_dir": ROOT / "docs",
        "flags": flags(),
    }
    arguments.update(overrides)
    adapters = arguments.pop("adapters", repo_adapters())
    sources = arguments.pop("sources", repo_sources())
    return collect_debt(adapters, sources, **arguments)


def integration(found: DebtReport, name: str) -> IntegrationDebt:
    return next(item for item in found.integrations if item.name == name)


def messages(item: IntegrationDebt, category: str | None = None) -> list[str]:
    return [f.message for f in item.findings if category in (None, f.category)]


def check(item: IntegrationDebt, name: str) -> str:
    return next(c.status for c in item.checklist if c.name == name)
