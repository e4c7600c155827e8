"""Governance: the decision matrix (cadence vs scores) and the integration-debt report.

``governance_problems(manifest)`` checks a manifest's ``governance`` block against
its cadence; ``collect_debt(...)`` builds the debt report that ``martech-bus debt``
prints as a table, JSON or a self-contained HTML page. See docs/governance.md.
Names load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from martech_bus._lazy import lazy_getattr

if TYPE_CHECKING:
    from martech_bus.governance.collect import CHECKS, collect_debt
    from martech_bus.governance.html import render_html
    from martech_bus.governance.matrix import cadence_for, governance_problems, suggested_cadence
    from martech_bus.governance.model import (
        Backlog,
        Check,
        DebtReport,
        Finding,
        IntegrationDebt,
        Thresholds,
    )
    from martech_bus.governance.render import print_report, render_json

_LAZY = {
    "CHECKS": "martech_bus.governance.collect",
    "collect_debt": "martech_bus.governance.collect",
    "render_html": "martech_bus.governance.html",
    "cadence_for": "martech_bus.governance.matrix",
    "governance_problems": "martech_bus.governance.matrix",
    "suggested_cadence": "martech_bus.governance.matrix",
    "Backlog": "martech_bus.governance.model",
    "Check": "martech_bus.governance.model",
    "DebtReport": "martech_bus.governance.model",
    "Finding": "martech_bus.governance.model",
    "IntegrationDebt": "martech_bus.governance.model",
    "Thresholds": "martech_bus.governance.model",
    "print_report": "martech_bus.governance.render",
    "render_json": "martech_bus.governance.render",
}

__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "CHECKS",
    "Backlog",
    "Check",
    "DebtReport",
    "Finding",
    "IntegrationDebt",
    "Thresholds",
    "cadence_for",
    "collect_debt",
    "governance_problems",
    "print_report",
    "render_html",
    "render_json",
    "suggested_cadence",
]
