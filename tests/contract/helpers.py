"""Throwaway repositories for the contract tests: copies of the shipped catalogue, adapters, sources."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from martech_bus.contract import CheckResult, Contract, ContractRoots

ROOT = Path(__file__).resolve().parents[2]
#: A day before every shipped expiry date, so checks on the shipped examples never age.
TODAY = date(2026, 11, 20)


def repo_copy(target: Path, *, adapters: Iterable[str] = (), sources: Iterable[str] = ()) -> Path:
    """``target`` with the repository's catalogue and the named adapters and sources."""
    shutil.copytree(ROOT / "schemas", target / "schemas")
    for name in adapters:
        shutil.copytree(ROOT / "adapters" / name, target / "adapters" / name)
    for name in sources:
        shutil.copytree(ROOT / "sources" / name, target / "sources" / name)
    return target


def roots(repo: Path) -> ContractRoots:
    return ContractRoots(repo / "schemas", repo / "adapters", repo / "sources")


def results(repo: Path, *, today: date = TODAY, base: str | None = None) -> dict[str, CheckResult]:
    """Every check of ``repo``, run, by id."""
    return {r.id: r for r in Contract(roots(repo), today=today, base=base).run()}


def failed(found: dict[str, CheckResult]) -> dict[str, str]:
    """The failed checks' messages, by id."""
    return {id: r.message for id, r in found.items() if not r.passed}
