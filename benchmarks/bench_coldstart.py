"""Cold start of a Lambda adapter handler, in fresh processes, side by side with `import boto3`.

Each contender runs in a new interpreter (median of several runs). The import
cost of a module is its process time minus that of `python -c "import json"`
(the interpreter itself), so the ratios compare what each import adds.
*First-invocation setup* adds what the handler defers to its first call:
loading the catalogue, the adapter and its mappings (PyYAML), compiling them,
and building the HTTP sink (httpx) — everything but the vendor request.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
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


def _median_ms(code: str) -> float:
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run() -> str:
    medians = {name: _median_ms(code) for name, code in CONTENDERS.items()}
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
        + "\n\nTarget: the handler import adds <= 0.6x what `import boto3` adds.\n"
    )
