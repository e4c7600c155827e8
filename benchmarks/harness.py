"""Tiny timing harness: best-of-N rates, so figures are comparable within one run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any


@dataclass(frozen=True, slots=True)
class Rate:
    """How many operations per second one contender managed."""

    name: str
    per_second: float

    def ratio_to(self, baseline: Rate) -> float:
        return self.per_second / baseline.per_second


def measure(name: str, operation: Callable[[], object], *, count: int, repeats: int = 5) -> Rate:
    """Run ``operation`` ``count`` times per repeat; report the best repeat's rate.

    The best repeat (not the mean) is the least disturbed by the other core's
    work, which makes ratios between contenders in the same run stable.
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            operation()
        best = min(best, time.perf_counter() - started)
    return Rate(name, count / best)


def table(
    rows: list[tuple[str, ...]],
    header: tuple[str, ...] = ("contender", "per second", "ratio"),
) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rate_rows(rates: list[Rate], baseline: Rate) -> list[tuple[str, str, str]]:
    """Table rows of ``rates`` with their ratio to ``baseline``."""
    return [(r.name, f"{r.per_second:,.0f}", f"{r.ratio_to(baseline):.2f}x") for r in rates]


def measure_interleaved(
    contenders: Sequence[tuple[str, Callable[[], object]]], *, count: int, rounds: int = 7
) -> list[Rate]:
    """Like ``measure`` for several contenders, alternating them round by round.

    On a shared machine the load changes over seconds; alternating exposes every
    contender to the same conditions, so their ratio holds even when rates drift.
    """
    best = [float("inf")] * len(contenders)
    for _ in range(rounds):
        for index, (_, operation) in enumerate(contenders):
            started = time.perf_counter()
            for _ in range(count):
                operation()
            best[index] = min(best[index], time.perf_counter() - started)
    return [
        Rate(name, count / elapsed) for (name, _), elapsed in zip(contenders, best, strict=True)
    ]


class AcceptingVendor(BaseHTTPRequestHandler):
    """A vendor endpoint that accepts every POST at once (``http.server`` handler, no logging)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"events_received": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass
