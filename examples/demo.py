"""The scripted tour behind `make demo`: what martech-bus does today, step by step.

Each step runs the real `martech-bus` command exactly as a user would type it
and checks its exit code (0 = ok, 1 = a check failed, 2 = bad input).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STEPS: list[tuple[str, list[str], int]] = [
    ("Which version is installed?", ["--version"], 0),
    ("The canonical event catalogue (Avro schemas are the source of truth)", ["schema", "list"], 0),
    (
        "Fingerprints and the stable schema id of order_completed v2",
        ["schema", "fingerprint", "schemas/order_completed/v2.avsc"],
        0,
    ),
    (
        "A good event validates",
        ["schema", "validate", "examples/events/order_completed.json"],
        0,
    ),
    (
        "A bad event is rejected with every problem, each with its field path",
        ["schema", "validate", "examples/events/invalid_order.json"],
        1,
    ),
    (
        "A compatible change: v3 adds a field with a default",
        [
            "schema",
            "compat",
            "examples/schema-changes/order_completed_v3_compatible.avsc",
            "schemas/order_completed/v2.avsc",
            "--mode",
            "BACKWARD",
        ],
        0,
    ),
    (
        "A breaking change: a new required field and a decimal scale change",
        [
            "schema",
            "compat",
            "examples/schema-changes/order_completed_v3_breaking.avsc",
            "schemas/order_completed/v2.avsc",
            "--mode",
            "BACKWARD",
        ],
        1,
    ),
    ("Every subject obeys its compatibility mode (what CI runs)", ["schema", "check"], 0),
]


def main() -> int:
    failed = []
    for number, (title, args, expected) in enumerate(STEPS, start=1):
        print(f"\n\033[1m[{number}/{len(STEPS)}] {title}\033[0m")
        print(f"$ martech-bus {' '.join(args)}", flush=True)
        code = subprocess.run(
            [sys.executable, "-m", "martech_bus", *args], cwd=ROOT, check=False
        ).returncode
        if code != expected:
            failed.append(f"step {number} exited {code}, expected {expected}")
    print()
    if failed:
        print("demo FAILED: " + "; ".join(failed))
        return 1
    print(f"demo ok: {len(STEPS)} steps behaved as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
