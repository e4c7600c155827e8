"""Cold start of a Lambda adapter handler, in fresh processes, side by side with `import boto3`.

Each contender runs in a new interpreter (median of several runs; the contenders
take turns, so a busy machine slows them alike). The import cost of a module is
its process time minus that of `python -c "import json"` (the interpreter
itself), so the ratios compare what each import adds. *First-invocation setup*
adds what the handler defers to its first call: loading the catalogue, the
adapter and its mappings (PyYAML), compiling them, and building the HTTP sink
(httpx) — everything but the vendor request.

Bytecode is compiled ahead for every contender, as a deployment ships it
(`compileall` in docs/deploy-lambda.md): the runs share a private
`PYTHONPYCACHEPREFIX` that an untimed first round fills, whatever the caller's
`PYTHONDONTWRITEBYTECODE` or `__pycache__` folders. Without that, an editable
checkout run with `PYTHONDONTWRITEBYTECODE=1` compiles martech-bus from source on
every start (~100 ms) while boto3 comes compiled from its wheel.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import table

ROOT = Path(__file__).resolve().parent.parent
RUNS = 9

LOAD_HANDLER = (
    "import importlib.util as u; "
    "s = u.spec_from_file_location('handler', 'adapters/meta_capi/handler.py'); "
    "m = u.module_from_spec(s); s.loader.exec_module(m)"
)
FIRST_SETUP = (
    LOAD_HANDLER + "; import os; os.environ.setdefault('META_PIXEL_ID', '1'); "
    "os.environ.setdefault('META_ACCESS_TOKEN', 't'); "
    "from martech_bus.integration import Runtime; "
    "r = Runtime(dlq='memory', idempotency_setting='memory'); "
    "p = r.pipeline(['meta_capi']); r.adapter('meta_capi').mapping_for('order_completed')"
)

CONTENDERS = {
    "python -c 'import json' (interpreter)": "import json",
    "import boto3": "import boto3",
    "import the meta_capi handler.py": LOAD_HANDLER,
    "handler import + first-invocation setup": FIRST_SETUP,
}


def _run_ms(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def _medians_ms(contenders: dict[str, str]) -> dict[str, float]:
    """Median wall time per contender; one untimed round first compiles and caches bytecode."""
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory(prefix="coldstart-pycache-") as pycache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        for code in contenders.values():
            _run_ms(code, env)
        names = list(contenders)
        for turn in range(RUNS):
            for name in names[turn % len(names) :] + names[: turn % len(names)]:
                timings[name].append(_run_ms(contenders[name], env))
    return {name: statistics.median(found) for name, found in timings.items()}


def run() -> str:
    medians = _medians_ms(CONTENDERS)
    interpreter = medians["python -c 'import json' (interpreter)"]
    boto3 = medians["import boto3"] - interpreter
    rows = []
    for name, total in medians.items():
        added = total - interpreter
        rows.append((name, f"{total:.0f} ms", f"{added:.0f} ms", f"{added / boto3:.2f}x"))
    return (
        table(
            rows,
            (
                "fresh process",
                "median wall time",
                "added to the interpreter",
                "ratio to import boto3",
            ),
        )
        + "\n\nTargets: the handler import adds <= 0.6x what `import boto3` adds; the handler"
        " import with the first-invocation setup <= 1.5x.\n"
    )
