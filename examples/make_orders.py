"""Print N fresh canonical order_completed events as a JSON array (for the demo and the tutorial).

    python examples/make_orders.py 3 > "$DEMO/sprint.json"

Each is examples/events/order_completed.json with a new event_id, user and order
id, so every run sends events no store has seen yet.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import uuid
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "events" / "order_completed.json"


def orders(count: int) -> list[dict[str, Any]]:
    """``count`` valid order_completed events with fresh ids."""
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    made = []
    for _ in range(count):
        event = copy.deepcopy(template)
        event_id = str(uuid.uuid4())
        event["event_id"] = event_id
        event["user_id"] = f"u-{event_id[:8]}"
        event["properties"]["order_id"] = f"ORD-{event_id[:8].upper()}"
        made.append(event)
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="how many events")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("count must be at least 1")
    json.dump(orders(args.count), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
