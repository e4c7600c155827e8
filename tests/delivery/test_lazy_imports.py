"""Cold start: the delivery modules import nothing heavy until used."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = {"tenacity", "httpx", "httpcore", "boto3", "botocore"}


def loaded_by(statement: str) -> set[str]:
    probe = f"import sys, json; {statement}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_building_policies_limiters_and_secret_refs_loads_nothing_heavy() -> None:
    statement = (
        "from martech_bus.retry import RetryPolicy; from martech_bus.ratelimit import TokenBucket; "
        "from martech_bus.secrets import SecretRef; import martech_bus.sinks; "
        "RetryPolicy().with_overrides(max_attempts=2); TokenBucket(1, 1); SecretRef.parse('env:X')"
    )
    assert loaded_by(statement).isdisjoint(HEAVY)
